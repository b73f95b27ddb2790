"""tf.data input pipelines; installed as `adarl_tf.pipelines` (see BUILD.md)."""
