"""Planning before training: how many labels a task needs, forecast from a learning curve."""
