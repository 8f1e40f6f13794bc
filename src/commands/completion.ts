import { Command } from 'commander';
import { TeleptyError } from '../protocol/errors.js';
import { COMMANDS } from './index.js';
import { examples } from './command-module.js';

/** What a shell completes: each command, its subcommands and options, and whether it takes session ids. */
export interface CompletionCommand {
  name: string;
  summary: string;
  options: string[];
  subcommands: string[];
  /** Its first positional argument is a session id (or a list of them): complete live ids there. */
  takesIds: boolean;
}

/** Positional argument names that hold session ids. */
const ID_ARGS = new Set(['id', 'ids', 'targets', 'old']);

/** Every command as the full CLI declares it (each module loaded and registered: only `completion` pays for it). */
export async function completionModel(): Promise<CompletionCommand[]> {
  const program = new Command('telepty');
  for (const entry of COMMANDS) (await entry.load()).register(program);
  const commands: CompletionCommand[] = program.commands.map((c) => ({
    name: c.name(),
    summary: COMMANDS.find((e) => e.name === c.name())?.summary ?? c.description(),
    options: [...c.options.map((o) => o.long).filter((l): l is string => typeof l === 'string'), '--help'],
    subcommands: c.commands.map((s) => s.name()),
    takesIds: ID_ARGS.has(c.registeredArguments[0]?.name() ?? ''),
  }));
  // An alias completes as its command does.
  const aliases = COMMANDS.flatMap((e) => {
    const of = commands.find((c) => c.name === e.name);
    return of ? (e.aliases ?? []).map((alias) => ({ ...of, name: alias })) : [];
  });
  return [...commands, ...aliases];
}

/** How the scripts list live session ids: one per line, and a Tab never starts a daemon. */
const IDS_COMMAND = 'telepty list --quiet --no-start 2>/dev/null';

function quoteSingle(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function bashScript(model: CompletionCommand[]): string {
  const names = model.map((c) => c.name).join(' ');
  const optionCases = model.map((c) => `    ${c.name}) opts=${quoteSingle([...c.options, ...c.subcommands].join(' '))} ;;`).join('\n');
  const idCommands = model.filter((c) => c.takesIds).map((c) => c.name).join('|');
  return `# telepty completion for bash: source this file, or put it in ~/.local/share/bash-completion/completions/telepty
_telepty() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts=''
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${quoteSingle(names)} -- "$cur"))
    return
  fi
  case "$cmd" in
${optionCases}
  esac
  if [[ "$cur" == -* || "$cmd" == daemon ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  case "$cmd" in
    ${idCommands}) COMPREPLY=($(compgen -W "$(${IDS_COMMAND})" -- "$cur")) ;;
  esac
}
complete -o default -F _telepty telepty
`;
}

export function zshScript(model: CompletionCommand[]): string {
  const described = model.map((c) => `    ${quoteSingle(`${c.name}:${c.summary.replace(/:/g, '\\:')}`)}`).join('\n');
  const optionCases = model.map((c) => `    ${c.name}) opts=(${[...c.options, ...c.subcommands].join(' ')}) ;;`).join('\n');
  const idCommands = model.filter((c) => c.takesIds).map((c) => c.name).join('|');
  return `#compdef telepty
# telepty completion for zsh: put this file as _telepty in a folder of your $fpath, or source it after compinit
_telepty() {
  local -a cmds opts
  cmds=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe 'telepty command' cmds
    return
  fi
  case $words[2] in
${optionCases}
  esac
  if [[ $PREFIX == -* || $words[2] == daemon ]]; then
    compadd -- $opts
    return
  fi
  case $words[2] in
    ${idCommands}) compadd -- \${(f)"$(${IDS_COMMAND})"} ;;
    *) _files ;;
  esac
}
compdef _telepty telepty
`;
}

export function fishScript(model: CompletionCommand[]): string {
  const lines = ['# telepty completion for fish: save as ~/.config/fish/completions/telepty.fish', 'complete -c telepty -f'];
  for (const c of model) {
    lines.push(`complete -c telepty -n __fish_use_subcommand -a ${c.name} -d ${quoteSingle(c.summary)}`);
    const when = `'__fish_seen_subcommand_from ${c.name}'`;
    for (const o of c.options) lines.push(`complete -c telepty -n ${when} -l ${o.replace(/^--/, '')}`);
    if (c.subcommands.length > 0) lines.push(`complete -c telepty -n ${when} -a ${quoteSingle(c.subcommands.join(' '))}`);
  }
  const idCommands = model.filter((c) => c.takesIds).map((c) => c.name).join(' ');
  lines.push(`complete -c telepty -n '__fish_seen_subcommand_from ${idCommands}' -a '(${IDS_COMMAND})' -d session`);
  return `${lines.join('\n')}\n`;
}

const SCRIPTS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;

function isShell(name: string): name is keyof typeof SCRIPTS {
  return Object.hasOwn(SCRIPTS, name);
}

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: commands, options and live session ids')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      examples([
        'source <(telepty completion bash)                        # this bash; add the line to ~/.bashrc to keep it',
        'telepty completion zsh > "${fpath[1]}/_telepty"          # zsh, then start a new shell',
        'telepty completion fish > ~/.config/fish/completions/telepty.fish',
      ]),
    )
    .action(async (shell: string) => {
      if (!isShell(shell)) throw new TeleptyError('INVALID_FIELD', `no completion for ${JSON.stringify(shell)}: choose bash, zsh or fish`);
      process.stdout.write(SCRIPTS[shell](await completionModel()));
    });
}
