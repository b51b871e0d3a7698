-- errlint language server for Neovim 0.7 - 0.10, without plugins (vim.lsp.start_client).
--
-- Paste this into your init.lua, or keep it as a file and load it with
--   dofile('/path/to/errlint/editors/nvim/start_client.lua')
-- Neovim 0.11+ users: use lsp/errlint.lua and vim.lsp.enable('errlint') instead.
--
-- Optional, before this runs:
--   vim.g.errlint_cmd = { '/path/to/venv/bin/errlint', 'lsp' }   -- default: errlint lsp
--   vim.g.errlint_settings = { ignore = { 'ERR101' } }           -- select / ignore / extendSelect
-- The settings are applied on top of the project's pyproject.toml / errlint.toml,
-- like the CLI's --select, --ignore and --extend-select.

local errlint_cmd = vim.g.errlint_cmd or { 'errlint', 'lsp' }
local errlint_settings = vim.g.errlint_settings or {}
local errlint_root_markers = { 'errlint.toml', '.errlint.toml', 'pyproject.toml', '.git' }
local errlint_clients = {} -- root directory -> client id

-- The nearest directory above `path` holding one of the root markers.
local function errlint_root(path)
  local start = vim.fn.fnamemodify(path, ':p:h')
  local dir = start
  while true do
    for _, marker in ipairs(errlint_root_markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return start
    end
    dir = parent
  end
end

local function errlint_attach(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or vim.bo[bufnr].buftype ~= '' then
    return
  end
  local root = errlint_root(name)
  local client_id = errlint_clients[root]
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  if not client or client.is_stopped() then
    client_id = vim.lsp.start_client({
      name = 'errlint',
      cmd = errlint_cmd,
      root_dir = root,
      workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
      init_options = errlint_settings,
      settings = { errlint = errlint_settings },
      on_init = function(new_client)
        -- Neovim before 0.8 does not send the settings by itself.
        new_client.notify('workspace/didChangeConfiguration', { settings = new_client.config.settings })
      end,
    })
    if not client_id then
      vim.notify('errlint: could not start ' .. table.concat(errlint_cmd, ' '), vim.log.levels.ERROR)
      return
    end
    errlint_clients[root] = client_id
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
end

vim.api.nvim_create_autocmd('FileType', {
  pattern = 'python',
  group = vim.api.nvim_create_augroup('errlint_lsp', { clear = true }),
  callback = function(args)
    errlint_attach(args.buf)
  end,
})
