/**
 * ticker.js: a dedicated worker that posts a message every N ms (N is the
 * first message it gets). room.js sends its keep-alive pings on these ticks:
 * a worker's timers are not slowed down like those of a background tab, so a
 * guest waiting in the lobby in another tab keeps the connection.
 */
let timer = 0;
self.onmessage = (e) => {
  clearInterval(timer);
  const ms = Number(e.data);
  if (ms > 0) timer = setInterval(() => self.postMessage('tick'), ms);
};
