"""Tasks turn a prepared job into a result, using one or more engines."""
