import { HeraldClient, HeraldInbox, storageCursorStore, type HeraldEvent, type InboxView } from '../client/index.ts';

/** The demo page: sign in as a test user, watch live notifications, send one through the intake queue. */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let client: HeraldClient | undefined;
let inbox: HeraldInbox | undefined;

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

function show(event: HeraldEvent): void {
  const item = document.createElement('li');
  item.dataset['position'] = String(event.position);
  item.innerHTML = '<span class="pos"></span> <b class="kind"></b> <code class="payload"></code> <time></time>';
  item.querySelector('.pos')!.textContent = `#${event.position}`;
  item.querySelector('.kind')!.textContent = event.kind ?? '';
  item.querySelector('.payload')!.textContent = JSON.stringify(event.payload);
  item.querySelector('time')!.textContent = event.published_at ? new Date(event.published_at).toLocaleTimeString() : '';
  $('events').prepend(item);
  $('count').textContent = String($('events').children.length);
}

/** "Next attempt in 8 s — Retry now" while the client waits out a backoff. */
function showNextAttempt(): void {
  const at = client?.nextAttemptAt;
  $('retry-line').hidden = at === undefined;
  if (at !== undefined) $('retry-in').textContent = String(Math.max(0, Math.ceil((at - Date.now()) / 1_000)));
}

/** The bell and the list: what HeraldInbox holds, redrawn on every change. */
function showInbox(view: InboxView): void {
  $('bell-count').textContent = String(view.counts.unread);
  const list = $('inbox');
  list.replaceChildren(...view.items.map((item) => {
    const li = document.createElement('li');
    li.dataset['item'] = item.item_id;
    li.dataset['state'] = item.state;
    li.innerHTML = '<span class="text"></span> <button class="mark-read">Mark read</button>';
    li.querySelector('.text')!.textContent = String(item.payload['text'] ?? item.notification_type);
    const button = li.querySelector<HTMLButtonElement>('.mark-read')!;
    button.disabled = item.state === 'read';
    button.addEventListener('click', () => void inbox?.mark([item.item_id], 'read').catch((e: Error) => ($('notice').textContent = e.message)));
    return li;
  }));
}

async function signIn(): Promise<void> {
  inbox?.close();
  client?.close();
  const userId = $<HTMLInputElement>('user').value.trim();
  const deviceSessionId = $<HTMLInputElement>('session').value.trim();
  const { websocket, httpApi } = (await (await fetch('/config')).json()) as { websocket: string; httpApi?: string };
  const token = async () => (await post<{ token: string }>('/token', { user_id: userId, device_session_id: deviceSessionId })).token;
  client = new HeraldClient({
    url: websocket,
    token,
    cursorStore: storageCursorStore(localStorage, `herald.demo.${userId}.${deviceSessionId}`),
  });
  $('inbox-panel').hidden = httpApi === undefined;
  inbox = httpApi === undefined ? undefined : new HeraldInbox({ client, apiUrl: httpApi, token });
  inbox?.subscribe(showInbox);
  client.on('state', (state) => {
    $('state').textContent = state;
    $('state').dataset['state'] = state;
    showNextAttempt();
  });
  client.on('event', show);
  client.on('resync', (info) => {
    $('notice').textContent = `History is gone (${info.reason}); a real app would reload its state now.`;
  });
  client.on('session_invalidated', ({ reason }) => {
    $('notice').textContent = `Session ended by the server: ${reason}`;
  });
  client.on('error', (error) => {
    $('notice').textContent = error.message;
  });
  $('who').textContent = `${userId} / ${deviceSessionId}`;
  client.connect();
  await inbox?.load();
}

async function sendTest(toInbox = false): Promise<void> {
  const userId = $<HTMLInputElement>('user').value.trim();
  const text = $<HTMLInputElement>('message').value || 'Hello from the demo page';
  const { notification_id } = await post<{ notification_id: string }>('/send', { user_id: userId, text, inbox: toInbox });
  $('notice').textContent = `Sent ${notification_id} to the intake queue`;
}

$('signin').addEventListener('click', () => void signIn().catch((e: Error) => ($('notice').textContent = e.message)));
$('retry').addEventListener('click', () => {
  client?.connect();
  showNextAttempt();
});
setInterval(showNextAttempt, 250);
$('send').addEventListener('click', () => void sendTest().catch((e: Error) => ($('notice').textContent = e.message)));
$('send-inbox').addEventListener('click', () => void sendTest(true).catch((e: Error) => ($('notice').textContent = e.message)));
$('read-all').addEventListener('click', () => void inbox?.markAll('read').catch((e: Error) => ($('notice').textContent = e.message)));
