"""What the DVC stages do, as library functions: params, tracking, and one function per stage."""
