// AudioWorklet processor for the web chat's voice messages: passes the microphone's PCM
// samples (first channel) to the page, which turns them into a 16-bit WAV file.
class PcmRecorder extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input[0] && input[0].length) {
      this.port.postMessage(input[0].slice(0));
    }
    return true;
  }
}

registerProcessor("pcm-recorder", PcmRecorder);
