# Shortcuts for ./dev (which creates .venv when needed).
.PHONY: demo test bench-quick

demo:
	./dev demo

test:
	./dev test

bench-quick:
	./dev bench-quick
