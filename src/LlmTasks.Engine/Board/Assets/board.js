// The board's one script (served from the board itself: its Content-Security-Policy allows no inline script).
// Live updates: the board's event stream says when the store changed; the part of the page under #live is then
// fetched again and replaced, so filters being typed into (outside it) are left alone.
(() => {
  const live = document.getElementById('live');
  const notice = document.getElementById('notice');
  let stamp = document.body.dataset.stamp;
  let busy = false, again = false;

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(location.href, { headers: { 'X-LlmTasks-Fragment': '1' }, cache: 'no-store' });
      if (response.ok && live) {
        live.innerHTML = await response.text();
        document.body.dataset.refreshed = String(Date.now());
      }
    } catch (e) {
      // the board stopped, or the network hiccuped: the next change tries again
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  if (live && window.EventSource) {
    const events = new EventSource('/events');
    events.onmessage = e => {
      if (e.data !== stamp) { stamp = e.data; document.body.dataset.stamp = stamp; refresh(); }
    };
  }

  function show(text, bad) {
    if (!notice) return;
    notice.textContent = text;
    notice.className = 'notice show' + (bad ? ' bad' : '');
    clearTimeout(show.timer);
    show.timer = setTimeout(() => { notice.className = 'notice'; }, 6000);
  }

  document.addEventListener('click', async e => {
    const button = e.target.closest('button[data-action]');
    if (!button) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      const response = await fetch(button.dataset.action, { method: 'POST', headers: { 'X-LlmTasks-Board': '1' } });
      const body = await response.json().catch(() => ({ message: response.status + ' ' + response.statusText }));
      show(body.message, !response.ok);
      if (response.ok && body.redirect) { location.href = body.redirect; return; }
      refresh();
    } finally {
      button.disabled = false;
    }
  });
})();
