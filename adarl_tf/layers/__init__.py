"""The custom layers of ADARL; importing this module registers them for `.keras` loading."""

from adarl_tf.layers.center_loss import CenterLoss
from adarl_tf.layers.channelwise_fc import ChannelwiseFC
from adarl_tf.layers.domain_frequency_attention import DomainFrequencyAttention
from adarl_tf.layers.ghost_batch_norm import GhostBatchNorm
from adarl_tf.layers.gradient_reversal import GradientReversal
from adarl_tf.layers.group_mean import GroupMean
from adarl_tf.layers.multi_scale_conv import MultiScaleConv
from adarl_tf.layers.spec_augment import SpecAugment
from adarl_tf.layers.spectrogram import Spectrogram

__all__ = ["CenterLoss", "ChannelwiseFC", "DomainFrequencyAttention",
           "GhostBatchNorm", "GradientReversal", "GroupMean", "MultiScaleConv",
           "SpecAugment", "Spectrogram"]
