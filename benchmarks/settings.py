"""What one run of the suite was asked to do."""
import dataclasses
import datetime
import pathlib

RESULTS_ROOT = pathlib.Path(__file__).resolve().parent / "results"


@dataclasses.dataclass(frozen=True)
class Settings:
    device: str = "cpu"          # "cpu" or "cuda": where the contenders run
    quick: bool = False          # tiny sizes and few repeats: a smoke run, not a measurement
    only: tuple = ()             # substrings of benchmark names to keep; empty keeps all
    threads: int = 1
    repeat: int = None           # overrides every benchmark's own repeat count
    out: pathlib.Path = None     # where the files go; None picks results/<device>-<date>
    charts: bool = True

    def output_dir(self):
        if self.out is not None:
            return pathlib.Path(self.out)
        stamp = datetime.date.today().isoformat()
        return RESULTS_ROOT / f"{self.device}-{stamp}{'-quick' if self.quick else ''}"

    def selects(self, name):
        return not self.only or any(part in name for part in self.only)

    def as_dict(self):
        out = dataclasses.asdict(self)
        out["only"] = list(self.only)
        out["out"] = str(self.output_dir())
        return out
