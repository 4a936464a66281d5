"""Drawing results for people: overlays on images, image strips."""
