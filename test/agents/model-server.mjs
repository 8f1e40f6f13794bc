// A stand-in model server on loopback for the real AI CLIs (issue 25's opt-in suite): it speaks just enough of
// the Anthropic Messages API (Claude Code), the OpenAI Responses and Chat Completions APIs (Codex, OpenCode) and the
// Gemini API (Gemini CLI) to answer every prompt with a short fixed text, and records every request it gets: the
// prompt of each turn (the last user message) is the CLI's own record of what was submitted.
import http from 'node:http';

/** What every turn is answered with. */
export const ANSWER = 'Noted.';

/**
 * The user's texts of a request's conversation, in order, per API shape: one entry per text block of each user
 * message (a CLI that sends a prompt typed during a running turn along with the next request, as Codex does, puts
 * two user messages in one request; the conversation is sent whole each time, so the longest one is the record).
 */
function anthropicPrompts(body) {
  const out = [];
  for (const m of body.messages ?? []) {
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') out.push(unwrapPastes(m.content));
    // Claude Code adds its own context as <system-reminder> text blocks next to the prompt's block.
    else for (const b of m.content) if (b.type === 'text' && !b.text.startsWith('<system-reminder>')) out.push(unwrapPastes(b.text));
  }
  return out;
}

/**
 * Claude Code 2.1.332 sends a paste it showed as "[Pasted text #N]" as `\n\n<pasted_content id="x">\nTEXT\n
 * </pasted_content id="x">\n`: its own wrapping of what was pasted, taken off to compare with the prompt sent.
 */
function unwrapPastes(text) {
  return text.replace(/\n{0,2}<pasted_content id="([^"]*)">\n([\s\S]*?)\n<\/pasted_content id="\1">\n?/g, '$2');
}

/** Codex's own context (environment, AGENTS.md, instructions) travels as user messages in tags. */
const CODEX_CONTEXT = /^<(environment_context|user_instructions|INSTRUCTIONS)>|^# AGENTS\.md/;

function responsesPrompts(body) {
  const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : (body.input ?? []);
  const out = [];
  for (const m of input) {
    if (m.role !== 'user' || (m.type !== undefined && m.type !== 'message')) continue;
    const texts = typeof m.content === 'string' ? [m.content] : m.content.filter((c) => c.type === 'input_text').map((c) => c.text);
    for (const t of texts) if (!CODEX_CONTEXT.test(t)) out.push(t);
  }
  return out;
}

function chatPrompts(body) {
  const out = [];
  for (const m of body.messages ?? []) {
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') out.push(m.content);
    else for (const c of m.content) if (c.type === 'text') out.push(c.text);
  }
  return out;
}

function geminiPrompts(body) {
  const out = [];
  for (const c of body.contents ?? []) {
    if (c.role !== 'user') continue;
    // The first turn carries Gemini CLI's <session_context> as a part of its own before the prompt's part.
    for (const p of c.parts ?? []) if (typeof p.text === 'string' && !p.text.startsWith('<session_context>')) out.push(p.text);
  }
  return out;
}

const sse = (res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return (event, data) => res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
};

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

function anthropic(req, res, body) {
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  const message = { id, type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: ANSWER }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 2 } };
  if (!body.stream) return json(res, 200, message);
  const send = sse(res);
  send('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } });
  send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ANSWER } });
  send('content_block_stop', { type: 'content_block_stop', index: 0 });
  send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } });
  send('message_stop', { type: 'message_stop' });
  res.end();
}

function responses(req, res, body) {
  const id = `resp_${Math.random().toString(36).slice(2)}`;
  const item = { type: 'message', role: 'assistant', id: `msg_${id}`, status: 'completed', content: [{ type: 'output_text', text: ANSWER, annotations: [] }] };
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 };
  const response = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), status: 'completed', model: body.model, output: [item], usage };
  if (!body.stream) return json(res, 200, response);
  const send = sse(res);
  send('response.created', { type: 'response.created', response: { ...response, status: 'in_progress', output: [] } });
  send('response.output_item.added', { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
  send('response.output_text.delta', { type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: ANSWER });
  send('response.output_item.done', { type: 'response.output_item.done', output_index: 0, item });
  send('response.completed', { type: 'response.completed', response });
  res.end();
}

function chat(req, res, body) {
  const id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
  if (!body.stream) return json(res, 200, { id, object: 'chat.completion', created, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }], usage });
  const send = sse(res);
  const chunk = (choices, extra = {}) => ({ id, object: 'chat.completion.chunk', created, model: body.model, choices, ...extra });
  send(null, chunk([{ index: 0, delta: { role: 'assistant', content: ANSWER }, finish_reason: null }]));
  send(null, chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], { usage }));
  send(null, '[DONE]');
  res.end();
}

function gemini(req, res, body, url) {
  // Side requests that ask for JSON (next-speaker check, model router) get an object with the fields they read.
  const wantsJson = body.generationConfig?.responseMimeType === 'application/json' || body.generationConfig?.responseJsonSchema || body.generationConfig?.responseSchema;
  const text = wantsJson ? JSON.stringify({ reasoning: 'stand-in', next_speaker: 'user', model_choice: 'flash' }) : ANSWER;
  const reply = { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 2, totalTokenCount: 12 }, modelVersion: 'stand-in' };
  if (url.pathname.endsWith(':countTokens')) return json(res, 200, { totalTokens: 10 });
  if (url.pathname.endsWith(':embedContent')) return json(res, 200, { embedding: { values: [0] } });
  if (!url.pathname.endsWith(':streamGenerateContent')) return json(res, 200, reply);
  if (url.searchParams.get('alt') === 'sse') {
    const send = sse(res);
    send(null, reply);
    return res.end();
  }
  return json(res, 200, [reply]);
}

/**
 * Start the server on 127.0.0.1 (a free port). `requests` holds every request: {at, method, path, api, turn,
 * tools, prompts, prompt (the last of prompts)}; `turn` marks a request of the agent's main loop (it offers tools), as opposed to side requests (a
 * title, a classifier) that may quote the prompt too. `onRequest` is told of each.
 */
export function startModelServer({ onRequest } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = {};
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch (err) {
          body = { unparsed: raw.slice(0, 200), error: String(err) };
        }
      }
      const p = url.pathname;
      const tools = Array.isArray(body.tools) ? body.tools.length : 0;
      const entry = { at: Date.now(), method: req.method, path: p, api: 'other', turn: false, tools, prompt: null, prompts: [] };
      try {
        if (req.method === 'POST' && p.endsWith('/messages/count_tokens')) {
          entry.api = 'anthropic-count';
          json(res, 200, { input_tokens: 10 });
        } else if (req.method === 'POST' && p.endsWith('/messages')) {
          entry.api = 'anthropic';
          entry.prompts = anthropicPrompts(body);
          entry.prompt = entry.prompts.at(-1) ?? null;
          entry.turn = tools > 0;
          anthropic(req, res, body);
        } else if (req.method === 'POST' && p.endsWith('/responses')) {
          entry.api = 'responses';
          entry.prompts = responsesPrompts(body);
          entry.prompt = entry.prompts.at(-1) ?? null;
          entry.turn = tools > 0;
          responses(req, res, body);
        } else if (req.method === 'POST' && p.endsWith('/chat/completions')) {
          entry.api = 'chat';
          entry.prompts = chatPrompts(body);
          entry.prompt = entry.prompts.at(-1) ?? null;
          entry.turn = tools > 0;
          chat(req, res, body);
        } else if (req.method === 'POST' && /\/models\/[^/]+:\w+$/.test(p)) {
          entry.api = 'gemini';
          entry.prompts = geminiPrompts(body);
          entry.prompt = entry.prompts.at(-1) ?? null;
          entry.turn = p.endsWith(':streamGenerateContent') && tools > 0;
          gemini(req, res, body, url);
        } else if (req.method === 'GET' && p.endsWith('/models')) {
          entry.api = 'models';
          json(res, 200, { object: 'list', data: [], models: [] });
        } else {
          json(res, 404, { error: { message: `stand-in model server: no ${req.method} ${p}`, type: 'not_found' } });
        }
      } catch (err) {
        entry.error = String(err);
        if (!res.headersSent) json(res, 500, { error: { message: String(err) } });
        else res.end();
      }
      requests.push(entry);
      onRequest?.(entry, body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        port: addr.port,
        url: `http://127.0.0.1:${addr.port}`,
        requests,
        /**
         * The conversation as the model last got it: the user's texts of the main-loop request with the most of
         * them (the latest of those). Each prompt submitted once shows once.
         */
        conversation: () => requests.filter((r) => r.turn).reduce((best, r) => (r.prompts.length >= best.length ? r.prompts : best), []),
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
