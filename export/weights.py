"""Weight-only compression of chosen constants in a `.tflite` flatbuffer.

Why this exists, in two cases the converter alone gets wrong for ADARL:

* float16. The converter's float16 mode turns *every* float constant into
  float16, scalars included. The frontend's `log(power + 1e-10)` floor
  (`FrontendConfig.log_floor` squared) underflows to 0 in float16, so a frame
  of digital silence (every zero-padded tail) gives log(0) = -inf and the
  whole segment NaN. Measured on a small fold: 3 of 8 test utterances NaN.
  Here only tensors with at least `min_elements` values (the weights:
  DFT bases, convolution kernels, dense matrices) become float16, which is
  what the file size is made of; scalars and small vectors stay float32.
* int8. The full-integer model keeps its frontend in float32 (see
  `tflite.py`), and the frontend's DFT bases are most of the weights (4.6 MB
  of float32 for the paper's 3 windows x 400 bins). Stored as per-channel
  int8 and dequantised at run time, they take a quarter of that while the
  spectrogram is still computed in float32.

Each chosen tensor T gets a new constant T' of the small type and a
DEQUANTIZE op T' -> T at the head of the graph; T keeps its name and shape,
so every op that read T is untouched.
"""

import numpy as np

_FLOAT32, _FLOAT16, _INT8 = 0, 1, 9  # tflite::TensorType values.


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema
    return schema


def _dequantize_opcode(model, schema, version):
    code = schema.BuiltinOperator.DEQUANTIZE
    for i, oc in enumerate(model.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
            oc.version = max(oc.version, version)
            return i
    oc = schema.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = code  # < 127, so the deprecated field holds it too.
    oc.version = version
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def _int8_per_channel(values, axis=0):
    """Symmetric per-channel int8: (int8 values, scales)."""
    moved = np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)
    scales = np.maximum(np.abs(moved).max(axis=1), 1e-12) / 127.0
    shape = [1] * values.ndim
    shape[axis] = -1
    q = np.clip(np.round(values / scales.reshape(shape)), -127, 127).astype(np.int8)
    return q, scales.astype(np.float32)


def _with_fully_connected_codes(content):
    """(schema, the flatbuffer as an object tree, opcode indices of FULLY_CONNECTED)."""
    from tensorflow.lite.tools import flatbuffer_utils

    schema = _schema()
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    fc_codes = {i for i, oc in enumerate(model.operatorCodes)
                if max(oc.builtinCode, oc.deprecatedBuiltinCode)
                == schema.BuiltinOperator.FULLY_CONNECTED}
    return schema, model, fc_codes


def hybrid_fully_connected(content, select=None):
    """Stores the float32 weights of chosen FULLY_CONNECTED ops as int8 in place.

    The op becomes a "hybrid" one (what the converter's dynamic-range mode
    writes): int8 weights with one scale per output row, float32 input and
    output, the input quantised at run time with `asymmetric_quantize_inputs`
    (XNNPACK: per input row, i.e. per spectrogram frame). Unlike
    `compress_weights(..., "int8")`, whose DEQUANTIZE gives float32 weights
    back, the product itself then runs on int8 kernels.

    Args:
        content: bytes. A `.tflite` flatbuffer.
        select: callable(name) -> bool, or None for every op. Which weight
            tensors (by name) to quantise.

    Returns:
        `(new flatbuffer bytes, names of the weight tensors quantised)`.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    schema, model, fc_codes = _with_fully_connected_codes(content)
    done = []
    for subgraph in model.subgraphs:
        readers = {}
        for op in subgraph.operators:
            for i in op.inputs:
                readers[i] = readers.get(i, 0) + 1
        for op in subgraph.operators:
            if op.opcodeIndex not in fc_codes or len(op.inputs) < 2:
                continue
            index = op.inputs[1]
            tensor = subgraph.tensors[index]
            name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
            buffer = model.buffers[tensor.buffer] if tensor.buffer else None
            if (tensor.type != _FLOAT32 or buffer is None or buffer.data is None
                    or readers[index] != 1 or (select is not None and not select(name))):
                continue
            values = np.frombuffer(bytes(bytearray(buffer.data)), np.float32)
            q, scales = _int8_per_channel(values.reshape([int(d) for d in tensor.shape]))
            _mark_int8_per_channel(schema, tensor, scales)
            buffer.data = np.frombuffer(q.tobytes(), np.uint8)
            op.builtinOptions.asymmetricQuantizeInputs = True
            done.append(name)
    if done:
        for i in fc_codes:  # Per-channel hybrid FULLY_CONNECTED is version 12.
            model.operatorCodes[i].version = max(model.operatorCodes[i].version, 12)
    return flatbuffer_utils.convert_object_to_bytearray(model), done


def _mark_int8_per_channel(schema, tensor, scales):
    """Types `tensor` as symmetric int8 with one scale per channel of axis 0."""
    tensor.type = _INT8
    tensor.quantization = schema.QuantizationParametersT()
    tensor.quantization.scale = scales.tolist()
    tensor.quantization.zeroPoint = [0] * len(scales)
    tensor.quantization.quantizedDimension = 0


def compress_weights(content, dtype, select=None, min_elements=1024):
    """Stores chosen float32 constants as float16 or int8, dequantised at run time.

    Args:
        content: bytes. A float `.tflite` flatbuffer.
        dtype: str. "float16" or "int8" (symmetric, per output channel).
        select: callable(name) -> bool, or None for every tensor. Which
            constant tensors (by name) to compress.
        min_elements: int. Smaller constants stay float32.

    Returns:
        `(new flatbuffer bytes, names of the tensors compressed)`.
    """
    from tensorflow.lite.python import schema_py_generated  # noqa: F401  (checks TF)
    from tensorflow.lite.tools import flatbuffer_utils

    if dtype not in ("float16", "int8"):
        raise ValueError(f"dtype={dtype!r}; expected 'float16' or 'int8'")
    schema = _schema()
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    # DEQUANTIZE op versions: 3 reads float16, 2 reads int8.
    opcode = _dequantize_opcode(model, schema, 3 if dtype == "float16" else 2)
    compressed = []
    for subgraph in model.subgraphs:
        graph_inputs = set(subgraph.inputs)
        new_ops = []
        for index, tensor in enumerate(list(subgraph.tensors)):
            name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
            buffer = model.buffers[tensor.buffer] if tensor.buffer else None
            if (tensor.type != _FLOAT32 or buffer is None or buffer.data is None
                    or index in graph_inputs or (select is not None and not select(name))):
                continue
            shape = [int(s) for s in tensor.shape]
            values = np.frombuffer(bytes(bytearray(buffer.data)), np.float32)
            if values.size < min_elements or values.size != int(np.prod(shape)):
                continue
            values = values.reshape(shape)
            small = schema.TensorT()
            small.shape = list(shape)
            small.name = (name + "/" + dtype).encode()
            new_buffer = schema.BufferT()
            if dtype == "float16":
                small.type = _FLOAT16
                new_buffer.data = np.frombuffer(values.astype("<f2").tobytes(), np.uint8)
            else:
                q, scales = _int8_per_channel(values, axis=0)
                _mark_int8_per_channel(schema, small, scales)
                new_buffer.data = np.frombuffer(q.tobytes(), np.uint8)
            model.buffers.append(new_buffer)
            small.buffer = len(model.buffers) - 1
            subgraph.tensors.append(small)
            tensor.buffer = 0  # Now computed by the DEQUANTIZE op below.
            op = schema.OperatorT()
            op.opcodeIndex = opcode
            op.inputs = [len(subgraph.tensors) - 1]
            op.outputs = [index]
            op.builtinOptionsType = 0
            new_ops.append(op)
            compressed.append(name)
        subgraph.operators = new_ops + list(subgraph.operators)
    # Empty the float32 buffers no tensor reads any more, or the file keeps them.
    used = {t.buffer for g in model.subgraphs for t in g.tensors}
    for i, buffer in enumerate(model.buffers):
        if i not in used:
            buffer.data = None
    return flatbuffer_utils.convert_object_to_bytearray(model), compressed


def float_fully_connected(content, select):
    """Gives chosen FULLY_CONNECTED ops with int8 weights their float32 weights back.

    The converter's dynamic-range mode makes every large FULLY_CONNECTED a
    hybrid op, whose input is quantised to int8 at run time. That suits
    inputs of a modest range, not one spanning many decades, such as the
    spectral power the mel product reads: quantised per frame, bands more
    than 48 dB below the frame's loudest become 0. The weights are
    dequantised (their int8 rounding stays) and the op runs in float32.

    Args:
        content: bytes. A `.tflite` flatbuffer.
        select: callable(name) -> bool. Which weight tensors (by name).

    Returns:
        `(new flatbuffer bytes, names of the weight tensors made float32)`.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    schema, model, fc_codes = _with_fully_connected_codes(content)
    done = []
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            if op.opcodeIndex not in fc_codes or len(op.inputs) < 2:
                continue
            tensor = subgraph.tensors[op.inputs[1]]
            name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
            buffer = model.buffers[tensor.buffer] if tensor.buffer else None
            if tensor.type != _INT8 or buffer is None or buffer.data is None \
                    or not select(name):
                continue
            q = np.frombuffer(bytes(bytearray(buffer.data)), np.int8).reshape(
                [int(d) for d in tensor.shape]).astype(np.float32)
            scales = np.asarray(tensor.quantization.scale, np.float32)
            axis = tensor.quantization.quantizedDimension if len(scales) > 1 else 0
            shape = [1] * q.ndim
            shape[axis] = -1
            values = q * scales.reshape(shape)
            buffer.data = np.frombuffer(values.astype("<f4").tobytes(), np.uint8)
            tensor.type = _FLOAT32
            tensor.quantization = None
            done.append(name)
    if not done:  # The file as the converter wrote it.
        return content, done
    return flatbuffer_utils.convert_object_to_bytearray(model), done
