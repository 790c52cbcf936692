"""StepMath-v0: arithmetic word problems with a sandboxed python tool (see :mod:`.env`)."""
