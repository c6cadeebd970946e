"""The ``[devices]`` part of the hall's configuration: the broker, voice, ratings and every bound device.

With nothing here the daemon runs simulated devices only (the demo); see docs/devices.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RATING_LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")  # the national 好差评 scale, 5 → 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


DeviceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
# A serial port: a device path, or a pyserial URL such as rfc2217://host:port for a serial server.
SerialPort = Annotated[str, Field(min_length=1, max_length=200)]


class Mqtt(_Model):
    url: str = ""  # mqtt://host:port; empty: no broker. `hallctl serve --mqtt` overrides it.
    username: str = ""
    password_file: str = ""  # a file holding the password, so the config can be shared without it
    client_id: str = ""  # default: hallctl-{hall id}


class Voice(_Model):
    template: str = "请{number}号到{window}号窗口办理"
    repeat: Annotated[int, Field(ge=1, le=5)] = 2
    chime: bool = True
    voice: str = "cmn-latn-pinyin"  # espeak-ng voice; cmn/zh read Chinese with English sounds in 1.51
    speed: Annotated[int, Field(ge=80, le=450)] = 150  # words per minute
    outputs: tuple[Literal["mqtt", "wav", "sound"], ...] = ("mqtt", "wav")
    directory: str = "voice"  # WAV cache and output, relative to the database's folder


class Ratings(_Model):
    """The satisfaction keypads (评价器, 好差评)."""

    arm_seconds: Annotated[int, Field(ge=5, le=3600)] = 60  # how long a keypad waits for a press
    # What a service nobody rated counts as, and after how long (Guangdong: 基本满意 after 7 days).
    unrated_level: Literal["非常满意", "满意", "基本满意", "不满意", "非常不满意", "none"] = "基本满意"
    unrated_after_days: Annotated[int, Field(ge=0, le=60)] = 7


class Board(_Model):
    recent_calls: Annotated[int, Field(ge=1, le=30)] = 8


class WindowDisplay(_Model):
    """A window's LED (窗口屏) on an RS-485 bus (the MQTT display topic exists for every window anyway)."""

    id: DeviceId
    window: Annotated[int, Field(ge=1, le=999)]
    port: SerialPort
    address: Annotated[int, Field(ge=1, le=254)]
    baudrate: int = 9600


class CallKeypad(_Model):
    """A clerk's call keypad (呼叫器) bound to one window, on an RS-485 bus or over MQTT (no ``port``)."""

    id: DeviceId
    window: Annotated[int, Field(ge=1, le=999)]
    port: SerialPort | None = None
    address: Annotated[int, Field(ge=1, le=254)] = 1
    baudrate: int = 9600


class RatingKeypad(_Model):
    """A satisfaction keypad (评价器) bound to one window, over MQTT (``port`` empty) or serial."""

    id: DeviceId
    window: Annotated[int, Field(ge=1, le=999)]
    port: SerialPort | None = None
    address: Annotated[int, Field(ge=1, le=254)] = 1
    baudrate: int = 9600


class Printer(_Model):
    """A kiosk's ticket printer (ESC/POS). ``kiosk`` is the name of the kiosk's token."""

    id: DeviceId
    kiosk: Annotated[str, Field(min_length=1, max_length=64)]
    # network:HOST[:PORT] | serial:PORT[:BAUD] | usb:VENDOR:PRODUCT | file:PATH | simulated
    connection: Annotated[str, Field(min_length=1, max_length=200)] = "simulated"
    paper_width_mm: Literal[58, 80] = 80
    print_materials: bool = True
    timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 5.0


class Devices(_Model):
    mqtt: Mqtt = Mqtt()
    voice: Voice = Voice()
    ratings: Ratings = Ratings()
    board: Board = Board()
    # The base URL printed as a QR on tickets for the phone page: {public_url}/t/{track_token}.
    public_url: str = "http://127.0.0.1:8080"
    displays: tuple[WindowDisplay, ...] = ()
    call_keypads: tuple[CallKeypad, ...] = ()
    rating_keypads: tuple[RatingKeypad, ...] = ()
    printers: tuple[Printer, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Devices:
        ids: list[str] = []
        for group in (self.displays, self.call_keypads, self.rating_keypads, self.printers):
            ids.extend(d.id for d in group)
        for device_id in ids:
            if ids.count(device_id) > 1:
                raise ValueError(f"devices: the device id {device_id!r} is used twice")
        return self
