"""SavedModel and TFLite export; installed as `adarl_tf.export` (see BUILD.md).

The exporter itself is the subject of a later issue; this package holds its place
in the layout so that imports and packaging are settled now.
"""
