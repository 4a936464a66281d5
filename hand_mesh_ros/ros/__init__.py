"""Thin ROS 2 layer: message conversion, parameters, publishing.

Everything else lives in the ROS-free core.
"""
