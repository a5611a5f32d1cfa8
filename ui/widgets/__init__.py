"""The app's widgets (each usable on its own with EngineUpdate-shaped data)."""
