"""Camera-space geometry: intrinsics and distortion, crop rectification, global positioning (DGP)."""
