"""Back ends: one emitter per target language; each turns the IR into source text."""
