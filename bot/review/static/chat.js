// The web chat's enhancements. Without this file (or without JavaScript) everything works as
// plain form posts. Nothing of the conversation is stored in the browser.
//  - After each reply, focus goes back to the message box (or to the "is that right?"
//    buttons after a voice message).
//  - Voice messages: where the browser lets us use the microphone, a record button records
//    PCM with the Web Audio API and uploads it as a 16-bit WAV file. The audio is not kept.
(function () {
  "use strict";

  var MAX_SECONDS = 115; // the server transcribes up to two minutes
  var TEXT = {
    recording: "Recording. Press \u201cStop and send\u201d when you have finished.",
    listening: "Listening to your voice message\u2026",
    noMicrophone: "I can't use the microphone in this browser. You can type your message instead.",
    failed: "Sorry, that voice message didn't reach me. Please try again, or type it instead.",
    start: "Record a voice message",
    stop: "Stop and send"
  };
  var recording = null;

  // htmx notes the page's address in sessionStorage when it loads; we keep nothing there.
  function clearStorage() {
    try {
      sessionStorage.removeItem("htmx-current-path-for-history");
      sessionStorage.removeItem("htmx-history-cache");
    } catch (error) {
      // storage not available: nothing to clear
    }
  }
  clearStorage();

  function focusNext() {
    var target = document.querySelector("#log [data-autofocus]");
    if (target) {
      target.removeAttribute("data-autofocus");
      target.focus();
      return;
    }
    var box = document.getElementById("message");
    if (box) {
      box.focus();
    }
  }

  function showRecordButton() {
    var button = document.getElementById("record");
    var supported = navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
      window.AudioContext && window.AudioWorkletNode && window.isSecureContext;
    if (button && supported) {
      button.hidden = false;
    }
  }

  function say(text) {
    var status = document.getElementById("record-status");
    if (status) {
      status.textContent = text;
    }
  }

  function wavFile(chunks, rate) {
    var length = chunks.reduce(function (sum, chunk) { return sum + chunk.length; }, 0);
    var buffer = new ArrayBuffer(44 + length * 2);
    var view = new DataView(buffer);
    function text(offset, value) {
      for (var i = 0; i < value.length; i++) {
        view.setUint8(offset + i, value.charCodeAt(i));
      }
    }
    text(0, "RIFF");
    view.setUint32(4, 36 + length * 2, true);
    text(8, "WAVE");
    text(12, "fmt ");
    view.setUint32(16, 16, true);
    view.setUint16(20, 1, true); // PCM
    view.setUint16(22, 1, true); // mono
    view.setUint32(24, rate, true);
    view.setUint32(28, rate * 2, true);
    view.setUint16(32, 2, true);
    view.setUint16(34, 16, true);
    text(36, "data");
    view.setUint32(40, length * 2, true);
    var offset = 44;
    chunks.forEach(function (chunk) {
      for (var i = 0; i < chunk.length; i++, offset += 2) {
        var s = Math.max(-1, Math.min(1, chunk[i]));
        view.setInt16(offset, s < 0 ? s * 0x8000 : s * 0x7fff, true);
      }
    });
    return new Blob([buffer], { type: "audio/wav" });
  }

  async function startRecording(button) {
    var stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
    var context;
    try {
      context = new AudioContext({ sampleRate: 16000 });
    } catch (error) {
      context = new AudioContext();
    }
    await context.audioWorklet.addModule(button.dataset.worklet);
    var source = context.createMediaStreamSource(stream);
    var node = new AudioWorkletNode(context, "pcm-recorder");
    var chunks = [];
    node.port.onmessage = function (event) { chunks.push(event.data); };
    source.connect(node);
    node.connect(context.destination); // silent: the processor writes no output
    recording = {
      stream: stream, context: context, source: source, node: node, chunks: chunks,
      url: button.dataset.url,
      timer: setTimeout(function () { stopAndSend(); }, MAX_SECONDS * 1000)
    };
    button.textContent = TEXT.stop;
    say(TEXT.recording);
  }

  async function stopAndSend() {
    var current = recording;
    recording = null;
    if (!current) {
      return;
    }
    clearTimeout(current.timer);
    current.source.disconnect();
    current.node.disconnect();
    current.stream.getTracks().forEach(function (track) { track.stop(); });
    var rate = current.context.sampleRate;
    await current.context.close();
    var button = document.getElementById("record");
    if (button) {
      button.textContent = TEXT.start;
      button.disabled = true;
    }
    say(TEXT.listening);
    var form = document.getElementById("composer");
    var data = new FormData();
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    data.append("audio", wavFile(current.chunks, rate), "voice.wav");
    current.chunks.length = 0;
    try {
      var response = await fetch(current.url, {
        method: "POST", body: data, credentials: "same-origin", headers: { "HX-Request": "true" }
      });
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) {
        window.location.assign(redirect);
        return;
      }
      htmx.swap(document.getElementById("log"), await response.text(), { swapStyle: "beforeend" });
      say("");
      focusNext();
    } catch (error) {
      say(TEXT.failed);
    } finally {
      if (button) {
        button.disabled = false;
      }
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#record");
    if (!button) {
      return;
    }
    if (recording) {
      stopAndSend();
    } else {
      startRecording(button).catch(function () {
        recording = null;
        say(TEXT.noMicrophone);
      });
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "log") {
      focusNext();
    }
    showRecordButton();
  });

  document.addEventListener("submit", function (event) {
    if (event.target.classList.contains("chat-finish")) {
      clearStorage();
    }
  });

  document.addEventListener("DOMContentLoaded", showRecordButton);
})();
