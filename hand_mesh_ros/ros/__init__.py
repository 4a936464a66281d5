"""Thin ROS 2 layer: the detector and reconstruction nodes and their message, parameter, QoS, TF and diagnostics
adapters.

Everything else lives in the ROS-free core; programs that drive the nodes (demo, bag replay) in ``tools/``.
"""
