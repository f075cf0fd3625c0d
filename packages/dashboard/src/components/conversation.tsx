/**
 * Renders logged input and output as a conversation. Everything logged is untrusted text: it is
 * only ever placed in the DOM as React text nodes (escaped), never as HTML.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

function Block({ block }: { block: unknown }) {
  if (typeof block === 'string') return <pre className="text">{block}</pre>;
  if (!isObj(block)) return <pre className="json">{str(block)}</pre>;
  const type = typeof block.type === 'string' ? block.type : 'unknown';
  switch (type) {
    case 'text':
      return <pre className="text">{str(block.text ?? '')}</pre>;
    case 'thinking':
      return (
        <details className="thinking">
          <summary>Thinking</summary>
          <pre className="text">{str(block.thinking ?? block.text ?? '')}</pre>
        </details>
      );
    case 'image_url':
    case 'image': {
      const url = isObj(block.image_url) ? block.image_url.url : (block.url ?? (isObj(block.source) ? '(inline image data)' : ''));
      return <div className="part-note">[image] {typeof url === 'string' && url.startsWith('data:') ? '(inline image data)' : str(url)}</div>;
    }
    case 'tool_use':
      return <ToolCall name={str(block.name ?? '')} id={block.id} args={block.input} />;
    case 'tool_result':
      return (
        <div className="tool-result">
          <div className="part-note">Tool result {block.tool_use_id ? `for ${str(block.tool_use_id)}` : ''}</div>
          {Array.isArray(block.content) ? block.content.map((b, i) => <Block key={i} block={b} />) : <pre className="text">{str(block.content ?? '')}</pre>}
        </div>
      );
    default:
      return (
        <div>
          <div className="part-note">{type}</div>
          <pre className="json">{str(block)}</pre>
        </div>
      );
  }
}

function ToolCall({ name, id, args }: { name: string; id: unknown; args: unknown }) {
  let shown = args;
  if (typeof args === 'string') {
    try {
      shown = JSON.parse(args);
    } catch {
      shown = args;
    }
  }
  return (
    <div className="tool-call">
      <div className="part-note">
        Tool call <code>{name}</code> {id ? <span className="muted">({str(id)})</span> : null}
      </div>
      <pre className="json">{str(shown)}</pre>
    </div>
  );
}

function Message({ message }: { message: unknown }) {
  if (!isObj(message)) return <pre className="json">{str(message)}</pre>;
  const role = typeof message.role === 'string' ? message.role : 'message';
  const content = message.content;
  const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return (
    <div className={`message role-${role.replace(/[^a-z_]/gi, '')}`}>
      <div className="role">
        {role}
        {typeof message.name === 'string' ? ` · ${message.name}` : ''}
        {typeof message.tool_call_id === 'string' ? ` · for ${message.tool_call_id}` : ''}
      </div>
      {Array.isArray(content) ? content.map((b, i) => <Block key={i} block={b} />) : content !== undefined && content !== null ? <Block block={content} /> : null}
      {toolCalls.map((tc, i) =>
        isObj(tc) ? <ToolCall key={i} name={str(isObj(tc.function) ? tc.function.name : tc.name)} id={tc.id} args={isObj(tc.function) ? tc.function.arguments : tc.arguments} /> : null,
      )}
      {isObj(message.function_call) && <ToolCall name={str(message.function_call.name)} id={null} args={message.function_call.arguments} />}
    </div>
  );
}

/** Whether a logged input or output holds nothing to show (no messages, no content). */
export function isEmptyContent(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (isObj(value) && Array.isArray(value.messages)) return value.messages.length === 0;
  if (isObj(value) && Array.isArray(value.content)) return value.content.length === 0;
  return false;
}

export function Conversation({ value, title, emptyNote }: { value: unknown; title: string; emptyNote?: React.ReactNode }) {
  let body: React.ReactNode;
  if (emptyNote && isEmptyContent(value)) body = emptyNote;
  else if (isObj(value) && Array.isArray(value.messages)) body = value.messages.map((m, i) => <Message key={i} message={m} />);
  else if (isObj(value) && Array.isArray(value.content)) body = <div className="message role-completion">{value.content.map((b, i) => <Block key={i} block={b} />)}</div>;
  else if (typeof value === 'string') body = <pre className="text">{value}</pre>;
  else body = <pre className="json">{str(value)}</pre>;
  return (
    <section className="conversation" aria-label={title}>
      <h3>{title}</h3>
      {body}
    </section>
  );
}
