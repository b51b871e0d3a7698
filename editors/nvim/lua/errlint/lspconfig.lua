-- errlint for nvim-lspconfig's setup() framework (Neovim 0.8 - 0.10 with nvim-lspconfig < 2).
--
-- With editors/nvim on your 'runtimepath' (or this file copied to lua/errlint/lspconfig.lua):
--
--   require('errlint.lspconfig').register()
--   require('lspconfig').errlint.setup({
--     -- cmd = { '/path/to/venv/bin/errlint', 'lsp' },
--     -- settings = { errlint = { ignore = { 'ERR101' } } },
--   })
--
-- Neovim 0.11+: use lsp/errlint.lua with vim.lsp.enable('errlint') instead.

local M = {}

M.default_config = {
  cmd = { 'errlint', 'lsp' },
  filetypes = { 'python' },
  single_file_support = true,
  settings = { errlint = {} },
}

M.root_markers = { 'errlint.toml', '.errlint.toml', 'pyproject.toml', '.git' }

-- Adds `errlint` to lspconfig's server configurations (once).
function M.register()
  local configs = require('lspconfig.configs')
  if configs.errlint then
    return configs.errlint
  end
  local util = require('lspconfig.util')
  local default_config = vim.deepcopy(M.default_config)
  default_config.root_dir = util.root_pattern((table.unpack or unpack)(M.root_markers))
  configs.errlint = {
    default_config = default_config,
    docs = {
      description = [[
errlint: finds the HTTP API error-handling mistakes that API docs warn about.
Install with `pip install errlint`; the server runs as `errlint lsp`.
`settings.errlint` takes `select`, `ignore` and `extendSelect` (lists of rule codes),
applied on top of the project's pyproject.toml / errlint.toml.
]],
    },
  }
  return configs.errlint
end

return M
