"""Evaluation: pose metrics, the handgraph_dev reader, PCK plots and the evaluation command."""
