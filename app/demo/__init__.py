"""`baton demo`: the main job on the sandboxes and embedded defaults."""
