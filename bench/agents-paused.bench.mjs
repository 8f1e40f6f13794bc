// Inject → submitted on the Claude-Code-like fixture paused 150 ms every 500 ms (issue 25): see agents-lib.mjs.
import { benchPrograms } from './agents-lib.mjs';

await benchPrograms('agents-paused', ['Claude-Code-like, paused 150/500 ms']);
