"""Audio and video fixtures made by code: espeak-ng speech, PyAV encoding and muxing.

Nothing here is committed as a binary: every test builds the files it needs
from the known sentences below, so the expected transcript is known exactly.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

RATE = 22050  # espeak-ng's native rate

SENTENCES = [
    "Our meeting starts at ten in the morning.",
    "Please call the office before noon on Monday.",
    "We found seven boxes of paper in the storage room.",
    "The weather today is cold and windy near the coast.",
    "She reads a new book every week during the summer.",
    "Turn left at the bridge and follow the river north.",
]

# The same everyday sentences in other languages (espeak-ng voice -> sentences), no numbers in them:
# a transcript that writes "10" for "dix" is right, and WER would say otherwise.
PHRASES = {
    "fr": ["Bonjour, je m'appelle Marie et j'habite à Paris avec ma famille.",
           "Le matin, je prends le train pour aller au travail.",
           "Le soir, nous mangeons ensemble à la maison.",
           "Il fait beau aujourd'hui, alors nous allons au parc.",
           "Mon frère travaille dans une grande entreprise à Lyon.",
           "Les enfants jouent dans le jardin après l'école."],
    "de": ["Guten Morgen, ich heiße Anna und wohne in Berlin.",
           "Das Wetter ist heute kalt und windig an der Küste.",
           "Am Abend essen wir zusammen mit der Familie.",
           "Mein Bruder arbeitet in einer großen Firma in München.",
           "Die Kinder spielen nach der Schule im Garten.",
           "Bitte rufen Sie das Büro vor dem Mittag an."],
    "es": ["Buenos días, me llamo Carlos y vivo en Madrid.",
           "Por la mañana tomo el tren para ir al trabajo.",
           "Por la noche cenamos juntos en casa.",
           "Hoy hace buen tiempo, así que vamos al parque.",
           "Mi hermano trabaja en una empresa grande en Sevilla.",
           "Los niños juegan en el jardín después de la escuela."],
    # espeak-ng's Mandarin with real phonemes and tones ("cmn" reads its dictionary's pinyin as English words)
    "cmn-latn-pinyin": ["你好，我叫小明。", "我住在北京。", "今天天气很好。", "我们去公园吧。",
                        "我的哥哥在一家大公司工作。", "孩子们放学后在花园里玩。"],
}
LANGUAGE_OF_VOICE = {"en-us": "en", "fr": "fr", "de": "de", "es": "es", "cmn-latn-pinyin": "zh"}

_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}


def speech_set(folder: Path, voices: list[str], clips: int = 2, per_clip: int = 3) -> list[Path]:
    """`clips` recordings per espeak-ng voice, `per_clip` sentences each, with NAME.ext.ref.txt and NAME.ext.lang
    beside them: a speech set for `edge eval`."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for voice in voices:
        sentences = SENTENCES if voice == "en-us" else PHRASES[voice]
        for index in range(clips):
            chosen = rotated(sentences, index, per_clip)
            path = write_audio(folder / f"{voice}-{index}.wav", join([speech_samples(t, folder, voice) for t in chosen]))
            made.append(labelled(path, chosen, LANGUAGE_OF_VOICE[voice]))
    return made


def rotated(sentences: list[str], index: int, count: int) -> list[str]:
    """`count` sentences for clip number `index`, each clip starting further on, so two clips differ."""
    return [sentences[(index * (count + 1) + k) % len(sentences)] for k in range(count)]


def labelled(path: Path, sentences: list[str], language: str) -> Path:
    """`path` with NAME.ext.ref.txt (what is said) and NAME.ext.lang beside it, as `edge eval` reads them."""
    (path.parent / f"{path.name}.ref.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    (path.parent / f"{path.name}.lang").write_text(language + "\n", encoding="utf-8")
    return path


def have_tools() -> str | None:
    """The reason the speech tests cannot run, or None."""
    return None if shutil.which("espeak-ng") else "espeak-ng is not installed (make test installs it)"


def speak(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> Path:
    """Speech for `text` as a 22.05 kHz mono wav, made by espeak-ng."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True, timeout=60)
    return path


def speech_samples(text: str, tmp: Path, voice: str = "en-us") -> np.ndarray:
    """int16 samples at RATE of `text` spoken by espeak-ng."""
    wav = speak(text, tmp / "_speech.wav", voice=voice)
    samples, rate = read_pcm(wav)
    wav.unlink()
    assert rate == RATE
    return samples


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples and the sample rate of the first audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        chunks = [out.to_ndarray().reshape(-1) for frame in container.decode(stream)
                  for out in resampler.resample(frame)]
    return np.concatenate(chunks), rate


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


def noise(seconds: float, seed: int = 1, level: float = 0.05) -> np.ndarray:
    """Quiet white noise (a room with a fan, not speech)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * level * 32767).clip(-32767, 32767).astype(np.int16)


def join(parts: list[np.ndarray], gap_s: float = 0.6, rate: int = RATE) -> np.ndarray:
    """The parts one after another, each followed by `gap_s` of silence (samples at `rate`)."""
    gap = silence(gap_s, rate)
    out: list[np.ndarray] = []
    for part in parts:
        out += [part, gap]
    return np.concatenate(out)


_AUDIO_FORMATS = {  # suffix -> (container format, codec, codec sample rate)
    ".wav": ("wav", "pcm_s16le", RATE),
    ".mp3": ("mp3", "libmp3lame", RATE),
    ".m4a": ("ipod", "aac", RATE),
    ".mp4": ("mp4", "aac", RATE),  # sound alone in a plain MP4
    ".flac": ("flac", "flac", RATE),
    ".ogg": ("ogg", "libopus", 48000),
    ".opus": ("ogg", "libopus", 48000),
    ".webm": ("webm", "libopus", 48000),
    ".mkv": ("matroska", "libopus", 48000),
}


def write_audio(path: Path, samples: np.ndarray, rate: int = RATE, container_format: str | None = None) -> Path:
    """Encode mono int16 samples into the format that `path`'s suffix names (or `container_format`,
    e.g. "mp4": AAC in a plain MP4, as phones write an .m4a)."""
    fmt, codec, codec_rate = _AUDIO_FORMATS[path.suffix]
    with av.open(str(path), "w", format=container_format or fmt) as container:
        stream = container.add_stream(codec, rate=codec_rate, layout="mono")
        _encode_audio(container, stream, samples, rate)
    return path


def write_video(path: Path, samples: np.ndarray | None, seconds: float | None = None, rate: int = RATE) -> Path:
    """A small mp4/mkv/mov/webm with moving colour frames and, if given, a speech track."""
    seconds = seconds if seconds is not None else len(samples) / rate
    vcodec, acodec = ("libvpx", "libopus") if path.suffix == ".webm" else ("libx264", "aac")
    with av.open(str(path), "w") as container:
        video = container.add_stream(vcodec, rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = None
        if samples is not None:
            audio = container.add_stream(acodec, rate=48000 if acodec == "libopus" else rate, layout="mono")
        for index in range(int(seconds * 10)):
            image = np.full((48, 64, 3), (index * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            _encode_audio(container, audio, samples, rate)
    return path


def _encode_audio(container, stream, samples: np.ndarray, rate: int) -> None:
    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono",
                                  rate=stream.codec_context.sample_rate)
    pts = 0
    for start in range(0, len(samples), 4096):
        frame = av.AudioFrame.from_ndarray(samples[start:start + 4096].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
        pts += frame.samples
        for out in resampler.resample(frame):
            container.mux(stream.encode(out))
    for out in resampler.resample(None):
        container.mux(stream.encode(out))
    container.mux(stream.encode(None))


def normalise(text: str) -> str:
    """Lowercase, no punctuation, number words as digits: what WER is counted on."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return " ".join(_NUMBER_WORDS.get(word.strip("'"), word.strip("'")) for word in words)


# -- acceptance 7: nothing may leave this machine ------------------------------------

_LOOPBACK = ("127.", "::1", "localhost", "0:0:0:0:0:0:0:1")


def is_local(family: int, address) -> bool:
    """Whether a socket address stays on this machine (loopback or a UNIX socket)."""
    if family == socket.AF_UNIX:
        return True
    host = address[0] if isinstance(address, tuple) else str(address)
    return str(host).startswith(_LOOPBACK)


_NETNS: list[str | None] = []


def netns_problem() -> str | None:
    """Why a network namespace with no route out cannot be made here, or None (checked once)."""
    if not _NETNS:
        if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("ip")):
            _NETNS.append("needs root, unshare and ip (iproute2) for a network namespace")
        else:
            probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=30)
            _NETNS.append(None if probe.returncode == 0 else f"unshare -n is not permitted: {probe.stderr.decode()}")
    return _NETNS[0]


def offline_prefix() -> list[str]:
    """Runs a command in a new network namespace with only loopback up, when the machine allows it."""
    if netns_problem() is not None:
        return []
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


# -- driving the pipeline --------------------------------------------------------------


def audio_config(options: dict | None = None, **model_options):
    """A config with the embedded tiny.en model and one transcribe route."""
    from edge.configure import parse_config

    model = {"engine": "faster-whisper", "model": "embedded:tiny.en", "idle_unload": 0, **model_options}
    route = {"name": "audio", "media": ["audio", "video"], "task": "transcribe", "model": "asr",
             "options": options or {}}
    return parse_config({"models": {"asr": model}, "routes": [route]})


def process(path: Path, config, engines=None) -> tuple[dict, Path]:
    """Run one file through the pipeline as the daemon does; return the validated sidecar and its path."""
    from edge.errors import EdgeError
    from edge.pipeline import Pipeline, stat_job
    from tests.helpers import validate_sidecar

    pipeline = Pipeline(config, engines=engines)
    job = stat_job(path, path.parent)
    try:
        target = pipeline.write(job, pipeline.run(job))
    except EdgeError as error:
        target = pipeline.write_error(job, error, attempts=1)
    return validate_sidecar(target), target


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(normalise(reference), normalise(hypothesis))
