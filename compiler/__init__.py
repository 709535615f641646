"""Front end and middle of scorec: load, lower to IR, run passes, write the manifest."""
