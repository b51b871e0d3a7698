-- errlint language server configuration for Neovim 0.11+ (vim.lsp.config / vim.lsp.enable).
--
-- Put this file on your 'runtimepath' as lsp/errlint.lua (for example copy it to
-- ~/.config/nvim/lsp/errlint.lua), then in init.lua:
--
--   vim.lsp.enable('errlint')
--
-- To change anything, call vim.lsp.config() before enabling; it is merged with this file:
--
--   vim.lsp.config('errlint', {
--     cmd = { '/path/to/venv/bin/errlint', 'lsp' },
--     settings = { errlint = { ignore = { 'ERR101' } } },
--   })
--
-- `settings.errlint` takes the same keys as the VS Code extension (`select`, `ignore`,
-- `extendSelect`: lists of rule codes or prefixes). They are applied on top of the
-- project's pyproject.toml / errlint.toml, like the CLI's --select, --ignore and
-- --extend-select. Leave them out to use the project's configuration as it is.

---@type vim.lsp.Config
return {
  cmd = { 'errlint', 'lsp' },
  filetypes = { 'python' },
  root_markers = { 'errlint.toml', '.errlint.toml', 'pyproject.toml', '.git' },
  settings = {
    errlint = {},
  },
}
