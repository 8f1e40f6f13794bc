import type { CommandModule } from './command-module.js';

export interface CommandEntry {
  name: string;
  aliases?: string[];
  summary: string;
  load: () => Promise<CommandModule>;
}

/** Every subcommand, one line each; a module is imported only when its command runs (start time matters). */
export const COMMANDS: CommandEntry[] = [
  { name: 'daemon', summary: 'run the daemon in the foreground, or start|stop|restart|status it', load: () => import('./daemon.js') },
  { name: 'token', summary: 'print or --rotate the API token for peers on other machines', load: () => import('./token.js') },
  { name: 'meta', summary: "show the daemon's version, address, machine id, uptime and capabilities", load: () => import('./meta.js') },
  { name: 'wrap', summary: 'run a program in this terminal as an addressable session', load: () => import('./wrap.js') },
  { name: 'inject', summary: 'type a prompt into sessions and submit it', load: () => import('./inject.js') },
  { name: 'enter', summary: 'press Enter alone in a session', load: () => import('./enter.js') },
  { name: 'reply', summary: 'answer whoever last injected into this session', load: () => import('./reply.js') },
  { name: 'publish', summary: 'publish events on the bus', load: () => import('./publish.js') },
  { name: 'tail', summary: 'follow the event bus (filters, replay)', load: () => import('./tail.js') },
  { name: 'spawn', summary: 'start a program in a new background session', load: () => import('./spawn.js') },
  { name: 'list', aliases: ['ls'], summary: 'list sessions', load: () => import('./list.js') },
  { name: 'read', summary: "print a session's rendered screen", load: () => import('./read.js') },
  { name: 'attach', summary: 'connect this terminal to a session (detach with Ctrl-])', load: () => import('./attach.js') },
  { name: 'rename', summary: 'give a session a new id', load: () => import('./rename.js') },
  { name: 'tag', summary: "show or change a session's tags (groups for --tag)", load: () => import('./tag.js') },
  { name: 'kill', summary: 'end sessions (their whole process group)', load: () => import('./kill.js') },
  { name: 'completion', summary: 'print a shell completion script (bash, zsh, fish)', load: () => import('./completion.js') },
  { name: 'doctor', summary: 'check this machine and the daemon, and say how to fix what is wrong', load: () => import('./doctor.js') },
  { name: 'record', summary: 'start or stop recording a running session; --list the recordings', load: () => import('./record.js') },
  { name: 'play', summary: 'replay a recording (asciicast) in this terminal', load: () => import('./play.js') },
  { name: 'fleet', summary: 'set up and run a fleet of machines over a NATS hub (init, hub)', load: () => import('./fleet.js') },
  { name: 'mcp', summary: 'serve the sessions to an AI agent as MCP tools over stdio', load: () => import('./mcp.js') },
  { name: 'wait', summary: "wait until sessions' agents are idle, working, blocked or exited", load: () => import('./wait.js') },
  { name: 'state', summary: "show a session's agent state and why (--explain)", load: () => import('./state.js') },
  { name: 'keys', summary: 'send keys by name (Enter, Escape, C-c, Down…) to a session', load: () => import('./keys.js') },
  { name: 'hook', summary: "report an AI CLI's hook event (run by telepty's own hooks)", load: () => import('./hook.js') },
  { name: 'ui', summary: 'open the live web dashboard (prints a one-time login link)', load: () => import('./ui.js') },
  { name: 'whoami', summary: 'inside a session: its id, machine and daemon', load: () => import('./whoami.js') },
];
