/**
 * One-line plain-text previews of a request for the request log: the last user message of the
 * input and the answer of the output. Logged content is untrusted and of any shape; a preview is
 * only ever text (the dashboard shows it as a text node), whitespace folded, cut at `max` chars.
 */
type Json = Record<string, unknown>;

export const PREVIEW_CHARS = 160;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text of one content block (or of a bare string), with a short marker for non-text parts. */
function blockText(block: unknown): string {
  if (typeof block === 'string') return block;
  if (!isObj(block)) return '';
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? block.text : '';
    case 'image_url':
    case 'image':
      return '[image]';
    case 'tool_use':
      return `[tool call ${typeof block.name === 'string' ? block.name : ''}]`;
    case 'tool_result':
      return Array.isArray(block.content) ? block.content.map(blockText).join(' ') : typeof block.content === 'string' ? block.content : '[tool result]';
    default:
      return typeof block.text === 'string' ? block.text : '';
  }
}

function contentText(content: unknown): string {
  if (Array.isArray(content)) return content.map(blockText).filter(Boolean).join(' ');
  return blockText(content);
}

function messageText(message: unknown): string {
  if (!isObj(message)) return '';
  const text = contentText(message.content);
  const calls = Array.isArray(message.tool_calls)
    ? message.tool_calls.map((c) => (isObj(c) && isObj(c.function) && typeof c.function.name === 'string' ? `[tool call ${c.function.name}]` : '[tool call]'))
    : [];
  return [text, ...calls].filter(Boolean).join(' ');
}

function fold(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}

/**
 * The preview of a logged input (`side: 'input'`: its last user message, else its last message)
 * or output (`'output'`: its last message), for chat and completion blueprints alike.
 */
export function previewOf(content: unknown, side: 'input' | 'output', max = PREVIEW_CHARS): string {
  if (!isObj(content)) return fold(contentText(content), max);
  if (Array.isArray(content.messages)) {
    const messages = content.messages;
    const pick = side === 'input' ? [...messages].reverse().find((m) => isObj(m) && m.role === 'user') ?? messages.at(-1) : messages.at(-1);
    return fold(messageText(pick), max);
  }
  return fold(contentText(content.content ?? content.text ?? ''), max);
}
