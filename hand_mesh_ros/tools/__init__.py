"""Programs that drive the two nodes from outside: the demo, bag replay, the frame player, the node launcher,
the result listener, bag recording and the loopback-only DDS guard. Nothing in ``ros/`` imports them.
"""
