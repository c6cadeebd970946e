"""The voice caller (语音叫号): Mandarin announcements through espeak-ng, one at a time per zone.

``text`` makes the sentence, ``engine`` the speech (cached), ``audio`` the chime and the WAV,
``announcer`` queues and delivers (WAV file, MQTT, sound card), ``sim`` is a virtual speaker.
"""

from devices.voice.announcer import Announcer, PublishCallback, VoiceSettings, VoiceStats
from devices.voice.engine import EspeakEngine, SynthesisError
from devices.voice.sim import Played, SimSpeaker
from devices.voice.speaker import Announcement, AplaySpeaker, Speaker, SpeakerError
from devices.voice.text import AnnouncementText, VoiceTemplateError, announcement_text

__all__ = [
    "Announcement",
    "AnnouncementText",
    "Announcer",
    "AplaySpeaker",
    "EspeakEngine",
    "Played",
    "PublishCallback",
    "SimSpeaker",
    "Speaker",
    "SpeakerError",
    "SynthesisError",
    "VoiceSettings",
    "VoiceStats",
    "VoiceTemplateError",
    "announcement_text",
]
