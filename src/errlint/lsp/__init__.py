"""The errlint language server (`errlint lsp`, `python -m errlint.lsp`).

`server` wires one handler per LSP method from the module of its concern:
`documents` (text sync), `diagnostics` (publish and pull), `code_actions`,
`hover` and `settings` (configuration); `analysis` runs the engine off the
event loop and `positions` converts between engine and LSP positions.
"""
