import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ._manifest import FlightLine

@dataclass
class LineStatus:
    name: str
    cube: str
    key: str
    folder: str
    status: str
    seconds: float = ...
    error_class: Optional[str] = ...
    error: Optional[str] = ...
    time: Optional[str] = ...

@dataclass
class CampaignResult:
    output: str
    lines: List[LineStatus]
    sites: Dict[str, Any]
    plumes: Dict[str, Any]
    config: Optional[Dict[str, Any]]
    seconds: float
    files: List[str] = ...
    @property
    def failed(self) -> List[LineStatus]: ...

def line_key(line: FlightLine, config: Dict[str, Any]) -> str: ...
def scan_campaign(
    paths_or_manifest: Union[str, os.PathLike[str], Sequence[Union[str, os.PathLike[str], FlightLine]]],
    config: Optional[Dict[str, Any]] = None,
    wind: Optional[Tuple[float, float]] = None,
    client: Any = None,
    *,
    output: Union[str, os.PathLike[str]] = ...,
    threads_per_task: Optional[int] = None,
) -> CampaignResult: ...
