"""jupyter_bokeh's widget made one-way, with one message per update: what the live chart draws through.

Two things in jupyter_bokeh 4 (``BokehModel`` / ``BokehView``) make a live chart wrong and slow:

* The page echoes every change it applies back to the kernel. Its document listener ignores BokehJS's
  ``event.sync`` flag (which ``bokeh serve``'s client honours), so each patch the kernel sends comes back as a
  ``jsevent``, whole data included, and ``BokehModel._sync_model`` applies it again on the kernel's main thread
  while the engine's thread keeps changing the same document: streamed rows are appended twice on the kernel's
  side, and an echo that names a model the kernel has replaced since fails with ``UnknownReferenceError``.
  Auto-ranging adds a range change per redraw. A chart needs nothing from the page, so the page is told to send
  nothing (``ONE_WAY_JS``, run when the document is ready), and whatever still comes is ignored.
* Each document event goes out as its own PATCH-DOC (header, metadata, content, and two frames per binary
  buffer). ``combined()`` gathers one update's events into one PATCH-DOC with its arrays inline: three comm
  frames an update, however many series changed.
"""

from __future__ import annotations

from contextlib import contextmanager

from jupyter_bokeh.widgets import BokehModel

# Runs in the page (cb_obj is the Document) once its views are drawn, after BokehView has subscribed to it:
# unsubscribe BokehView's listener, whose only job is to send the page's changes to the kernel.
ONE_WAY_JS = """
const doc = cb_obj
for (const callback of [...doc._callbacks.keys()]) {
    if (String(callback).includes("_change_event")) {
        doc.remove_on_change(callback)
    }
}
"""


class OneWayBokehModel(BokehModel):
    """A ``BokehModel`` that only sends: its document's events go out combined, nothing from the page is applied.

    ``messages_from_page`` counts what the page sent anyway (before its document was ready, or a BokehView that
    the one-way script does not recognise): tests check that it stays still while the chart updates.
    """

    def __init__(self, model, **kwargs):
        self._held: list | None = None
        self.messages_from_page = 0
        self.patches_sent = 0
        super().__init__(model, **kwargs)

    @staticmethod
    def make_one_way(document) -> None:
        """Add the page-side script to a document before it is displayed."""
        from bokeh.models import CustomJS

        document.js_on_event("document_ready", CustomJS(code=ONE_WAY_JS))

    @contextmanager
    def combined(self):
        """Hold the document's events and send them as one PATCH-DOC at the end."""
        self._held = []
        try:
            yield
        finally:
            events, self._held = self._held, None
            if events:
                self._send_patch(events)

    def _document_patched(self, event) -> None:
        if self._held is not None:
            self._held.append(event)
        else:
            self._send_patch([event])

    def _send_patch(self, events: list) -> None:
        from bokeh.core.serialization import Serializer
        from bokeh.document.json import PatchJson
        from bokeh.protocol.messages.patch_doc import patch_doc

        document = events[0].document
        # arrays inline (base64) rather than as buffers: a buffer costs two more comm frames each
        serializer = Serializer(references=document.models.synced_references, deferred=False)
        message = patch_doc(patch_doc.create_header(), {}, PatchJson(events=serializer.encode(events)))
        document.models.flush_synced(lambda model: not serializer.has_ref(model))
        for part in (message.header_json, message.metadata_json, message.content_json):
            self.send({"msg": "patch", "payload": part})
        self.patches_sent += 1

    def _sync_model(self, _model, content, _buffers) -> None:
        # the chart is drawn from the result alone: a change from the page (an echo, a range) changes nothing
        self.messages_from_page += 1
