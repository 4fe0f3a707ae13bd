"""Provinces on a map: the GeoJSON the province choropleth draws, and the schematic default.

A map of China published in China must show the boundaries the authorities approve and carry a
map review number (审图号); the project has none. So the shipped default,
``dashboards/province_tiles.json``, shows **no boundaries**: it is a tile grid, one square per
provincial-level unit (all 34, Hong Kong, Macao and Taiwan included), placed roughly where the
unit lies, built from :data:`TILES` by :func:`tile_geojson` (``python -m dashboards.geo``
rewrites the file; a test holds the two equal). The association drops its approved boundary
file in ``[dashboards] province_geojson`` and the same chart draws it.

A file is accepted when it is a GeoJSON ``FeatureCollection`` whose features are ``Polygon`` or
``MultiPolygon`` and each names its unit by the GB/T 2260 code, in ``properties.code`` or the
feature's ``id``: two digits (``"11"``) or six (``"110000"``, read as ``"11"``). Anything else
is refused at start with :class:`ProvinceMapInvalid` (``DSH004``), saying what was wrong.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange.errors import TerminalError

DEFAULT = Path(__file__).with_name("province_tiles.json")

#: GB/T 2260 code → (column west→east, row north→south, English, Chinese) of the tile grid
TILES: dict[str, tuple[int, int, str, str]] = {
    "23": (8, 0, "Heilongjiang", "黑龙江"),
    "15": (5, 1, "Inner Mongolia", "内蒙古"),
    "11": (6, 1, "Beijing", "北京"),
    "21": (7, 1, "Liaoning", "辽宁"),
    "22": (8, 1, "Jilin", "吉林"),
    "65": (0, 2, "Xinjiang", "新疆"),
    "62": (3, 2, "Gansu", "甘肃"),
    "64": (4, 2, "Ningxia", "宁夏"),
    "14": (5, 2, "Shanxi", "山西"),
    "13": (6, 2, "Hebei", "河北"),
    "12": (7, 2, "Tianjin", "天津"),
    "54": (1, 3, "Tibet", "西藏"),
    "63": (2, 3, "Qinghai", "青海"),
    "61": (4, 3, "Shaanxi", "陕西"),
    "41": (5, 3, "Henan", "河南"),
    "37": (6, 3, "Shandong", "山东"),
    "51": (3, 4, "Sichuan", "四川"),
    "50": (4, 4, "Chongqing", "重庆"),
    "42": (5, 4, "Hubei", "湖北"),
    "34": (6, 4, "Anhui", "安徽"),
    "32": (7, 4, "Jiangsu", "江苏"),
    "53": (3, 5, "Yunnan", "云南"),
    "52": (4, 5, "Guizhou", "贵州"),
    "43": (5, 5, "Hunan", "湖南"),
    "36": (6, 5, "Jiangxi", "江西"),
    "33": (7, 5, "Zhejiang", "浙江"),
    "31": (8, 5, "Shanghai", "上海"),
    "45": (4, 6, "Guangxi", "广西"),
    "44": (5, 6, "Guangdong", "广东"),
    "35": (6, 6, "Fujian", "福建"),
    "71": (7, 6, "Taiwan", "台湾"),
    "46": (4, 7, "Hainan", "海南"),
    "82": (5, 7, "Macao", "澳门"),
    "81": (6, 7, "Hong Kong", "香港"),
}
STEP = 2.0  # degrees between tile centres (near the equator: squares stay square)
SIDE = 1.8


class ProvinceMapInvalid(TerminalError):
    """``[dashboards] province_geojson`` is not a GeoJSON of provinces the chart can draw."""

    code = "DSH004"


@dataclass(frozen=True)
class ProvinceMap:
    """The features to draw (``properties.code`` set on each), the file they came from and,
    for the tile grid, where each unit's label goes."""

    geojson: dict[str, Any]
    codes: frozenset[str]
    source: str
    centres: dict[str, tuple[float, float]]
    schematic: bool
    review_number: str | None = None  # 审图号 of an approved map (its top-level "review_number")


def tile_geojson() -> dict[str, Any]:
    """The schematic tile grid as a GeoJSON FeatureCollection (no boundaries)."""
    features = []
    for code, (col, row, en, zh) in TILES.items():
        lon, lat = col * STEP, -row * STEP
        h = SIDE / 2
        ring = [[lon - h, lat - h], [lon + h, lat - h], [lon + h, lat + h], [lon - h, lat + h],
                [lon - h, lat - h]]  # fmt: skip
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "name_en": en, "name_zh": zh, "centre": [lon, lat]},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {
        "type": "FeatureCollection",
        "name": "jdx schematic province tiles (not a map: no boundaries)",
        "features": features,
    }


def _area(ring: list[list[float]]) -> float:
    """Twice the planar signed area of a ring in (lon, lat): positive when counter-clockwise."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))


def _rewound(geometry: dict[str, Any]) -> dict[str, Any]:
    """The geometry with outer rings clockwise and holes counter-clockwise, as d3-geo (which
    plotly.js draws with) reads them; RFC 7946 files wind the other way, and an outer ring
    read the wrong way round is the whole globe but the province."""

    def polygon(rings: list[Any]) -> list[Any]:
        out = []
        for i, ring in enumerate(rings):
            outer = i == 0
            ccw = _area(ring) > 0
            out.append(list(reversed(ring)) if ccw == outer else ring)
        return out

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geometry["coordinates"])}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geometry["coordinates"]]}


def _code(feature: dict[str, Any]) -> str | None:
    props = feature.get("properties") or {}
    raw = props.get("code", feature.get("id")) if isinstance(props, dict) else feature.get("id")
    text = str(raw) if raw is not None else ""
    if re.fullmatch(r"\d{2}", text):
        return text
    if re.fullmatch(r"\d{2}0000", text):
        return text[:2]
    return None


def load(path: Path | None) -> ProvinceMap:
    """The map of ``path`` (None: the shipped tile grid); :class:`ProvinceMapInvalid` when the
    file cannot be drawn."""
    source = path or DEFAULT
    where = f"[dashboards] province_geojson = {source}" if path else str(source)
    try:
        doc = json.loads(Path(source).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ProvinceMapInvalid(
            f"{ProvinceMapInvalid.code}: {where}: cannot read it ({exc.strerror})"
        ) from None
    except ValueError as exc:
        raise ProvinceMapInvalid(f"{ProvinceMapInvalid.code}: {where}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ProvinceMapInvalid(
            f"{ProvinceMapInvalid.code}: {where}: not a GeoJSON FeatureCollection"
        )
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise ProvinceMapInvalid(f"{ProvinceMapInvalid.code}: {where}: it has no features")
    out, codes, centres = [], set(), {}
    for i, feature in enumerate(features):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            raise ProvinceMapInvalid(
                f"{ProvinceMapInvalid.code}: {where}: feature {i} is not a Polygon or MultiPolygon"
            )
        code = _code(feature)
        if code is None:
            raise ProvinceMapInvalid(
                f"{ProvinceMapInvalid.code}: {where}: feature {i} names no province by its "
                'GB/T 2260 code (properties.code or id: "11" or "110000")'
            )
        if code in codes:
            raise ProvinceMapInvalid(f"{ProvinceMapInvalid.code}: {where}: province {code} twice")
        codes.add(code)
        props = dict(feature.get("properties") or {})
        props["code"] = code
        centre = props.get("centre")
        if isinstance(centre, list) and len(centre) == 2:
            centres[code] = (float(centre[0]), float(centre[1]))
        try:
            shape = _rewound(geometry)
        except (TypeError, IndexError, KeyError, ValueError):
            raise ProvinceMapInvalid(
                f"{ProvinceMapInvalid.code}: {where}: feature {i} ({code}) has coordinates "
                "that are not rings of [lon, lat] points"
            ) from None
        out.append({"type": "Feature", "id": code, "properties": props, "geometry": shape})
    return ProvinceMap(
        {"type": "FeatureCollection", "features": out},
        frozenset(codes),
        str(source),
        centres,
        schematic=path is None,
        review_number=str(doc["review_number"])[:60] if doc.get("review_number") else None,
    )


if __name__ == "__main__":
    DEFAULT.write_text(json.dumps(tile_geojson(), ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {DEFAULT}")
