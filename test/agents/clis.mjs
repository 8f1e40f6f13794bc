// The real AI CLIs the opt-in suite runs (issue 25), their pinned versions (the one place to change them), and how
// each is pointed at the stand-in model server: a temp HOME with the config files that skip onboarding and approve
// a fake key, and the environment that names the loopback server. Nothing here reaches the internet.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Pinned versions: the versions issue 25 was measured on, or the newest at the time this suite was written. */
export const VERSIONS = {
  claude: '2.1.332',
  codex: '0.171.0',
  gemini: '0.61.0',
  opencode: '1.18.33',
};

const CLAUDE_KEY = 'sk-ant-api03-telepty-stand-in-key-0123456789abcdef';

/**
 * Each CLI: its npm package and binary, the text its screen shows once its input box is ready, and `setup(dirs,
 * url)` that writes its config under `dirs.home` and returns the environment of its session. `dirs.work` is its
 * working folder (trusted where the CLI asks); `dirs.cache` a folder of its own kept from run to run.
 */
export const CLIS = [
  {
    name: 'claude',
    label: 'Claude Code',
    pkg: '@anthropic-ai/claude-code',
    bin: 'claude',
    ready: /❯/,
    setup({ home, work }, url) {
      // A custom key is used only once approved (the last 20 characters of the key) and onboarding is done.
      writeFileSync(
        path.join(home, '.claude.json'),
        JSON.stringify({
          hasCompletedOnboarding: true,
          theme: 'dark',
          customApiKeyResponses: { approved: [CLAUDE_KEY.slice(-20)], rejected: [] },
          projects: { [work]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true, allowedTools: [] } },
        }),
      );
      return {
        ANTHROPIC_BASE_URL: url,
        ANTHROPIC_API_KEY: CLAUDE_KEY,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
      };
    },
  },
  {
    name: 'codex',
    label: 'Codex',
    pkg: '@openai/codex',
    bin: 'codex',
    ready: /Ask Codex|› /,
    setup({ home, work }, url) {
      const codexHome = path.join(home, '.codex');
      mkdirSync(codexHome, { recursive: true });
      writeFileSync(
        path.join(codexHome, 'config.toml'),
        [
          'model = "stand-in"',
          'model_provider = "standin"',
          'check_for_update_on_startup = false',
          'approval_policy = "never"',
          'sandbox_mode = "read-only"',
          '',
          '[model_providers.standin]',
          'name = "stand-in"',
          `base_url = ${JSON.stringify(`${url}/v1`)}`,
          'wire_api = "responses"',
          'requires_openai_auth = true',
          // A failed request is not sent again: a prompt the server saw twice is the CLI's doing, not a retry.
          'request_max_retries = 0',
          'stream_max_retries = 0',
          '',
          `[projects.${JSON.stringify(work)}]`,
          'trust_level = "trusted"',
          '',
        ].join('\n'),
      );
      writeFileSync(path.join(codexHome, 'auth.json'), JSON.stringify({ auth_mode: 'apikey', OPENAI_API_KEY: 'sk-stand-in' }));
      return { CODEX_HOME: codexHome };
    },
  },
  {
    name: 'gemini',
    label: 'Gemini CLI',
    pkg: '@google/gemini-cli',
    bin: 'gemini',
    ready: /Type your message/,
    setup({ home }, url) {
      mkdirSync(path.join(home, '.gemini'), { recursive: true });
      writeFileSync(
        path.join(home, '.gemini', 'settings.json'),
        JSON.stringify({
          security: { auth: { selectedType: 'gemini-api-key' } },
          general: { disableAutoUpdate: true, disableUpdateNag: true },
          privacy: { usageStatisticsEnabled: false },
        }),
      );
      return { GEMINI_API_KEY: 'stand-in', GOOGLE_GEMINI_BASE_URL: url, GEMINI_CLI_TRUST_WORKSPACE: 'true' };
    },
  },
  {
    name: 'opencode',
    label: 'OpenCode',
    pkg: 'opencode-ai',
    bin: 'opencode',
    ready: /Ask anything/,
    setup({ home, cache }, url) {
      const config = path.join(home, 'opencode.json');
      writeFileSync(
        config,
        JSON.stringify({
          $schema: 'https://opencode.ai/config.json',
          autoupdate: false,
          share: 'disabled',
          model: 'standin/stand-in',
          small_model: 'standin/stand-in',
          provider: {
            standin: {
              npm: '@ai-sdk/openai-compatible',
              name: 'stand-in',
              options: { baseURL: `${url}/v1`, apiKey: 'stand-in' },
              models: { 'stand-in': { name: 'stand-in', tool_call: true } },
            },
          },
        }),
      );
      return {
        OPENCODE_CONFIG: config,
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_DATA_HOME: path.join(home, '.local', 'share'),
        // Its first turn installs the provider's package with npm (about 19 s on a loaded machine): kept across
        // runs in the suite's cache, so only the first run pays for it.
        XDG_CACHE_HOME: path.join(cache, 'xdg-cache'),
        npm_config_cache: path.join(cache, 'npm'),
        XDG_STATE_HOME: path.join(home, '.local', 'state'),
      };
    },
  },
];
