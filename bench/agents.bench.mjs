// Inject → submitted on the Gemini-, Claude-Code- and OpenCode-like fixtures (issue 25): see agents-lib.mjs.
import { benchPrograms } from './agents-lib.mjs';

await benchPrograms('agents', ['Gemini-like', 'Claude-Code-like', 'OpenCode-like']);
