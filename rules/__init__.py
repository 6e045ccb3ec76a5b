"""Pure decision logic: the YAML rules language, its compiler and its engines."""
