// Non-trickle signaling with an eddy example server, served at
// /signaling.js by every one of them: offer, wait until every candidate
// is gathered, POST the offer to /offer, apply the answer.
async function eddyConnect(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((done) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') done();
      });
    });
  }
  const reply = await fetch('/offer', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(pc.localDescription),
  });
  if (!reply.ok) throw new Error('signaling failed: ' + await reply.text());
  await pc.setRemoteDescription(await reply.json());
}
