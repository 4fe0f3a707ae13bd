"""The province choropleth's maps: the shipped schematic tile grid and an association's file.

The chart itself (values equal to the release's CSV, suppressed provinces grey) is checked in
real Chromium in test_dashboards.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboards import geo
from dashboards.settings import DashboardSettings


def test_the_shipped_tile_grid_has_every_provincial_unit_once_and_no_boundaries() -> None:
    shipped = json.loads(geo.DEFAULT.read_text(encoding="utf-8"))
    assert shipped == geo.tile_geojson()  # python -m dashboards.geo rewrites it
    found = geo.load(None)
    assert found.schematic and len(found.codes) == 34
    assert {"71", "81", "82", "11", "65", "54", "46"} <= found.codes  # Taiwan, HK, Macao …
    assert len({(c, r) for c, r, _, _ in geo.TILES.values()}) == 34  # one tile per place
    for feature in found.geojson["features"]:
        (ring,) = feature["geometry"]["coordinates"]
        xs, ys = {p[0] for p in ring}, {p[1] for p in ring}
        assert len(ring) == 5 and len(xs) == len(ys) == 2  # a square, nothing else
    # roughly geographic: Xinjiang west of Shanghai, Heilongjiang north of Hainan
    assert found.centres["65"][0] < found.centres["31"][0]
    assert found.centres["23"][1] > found.centres["46"][1]


def test_an_approved_file_with_six_digit_codes_is_read(tmp_path: Path) -> None:
    square = [[[116.0, 39.5], [117.0, 39.5], [117.0, 40.5], [116.0, 40.5], [116.0, 39.5]]]
    doc = {"type": "FeatureCollection", "review_number": "GS(2099)0001", "features": [
        {"type": "Feature", "properties": {"code": "110000", "name": "北京市"},
         "geometry": {"type": "Polygon", "coordinates": square}},
        {"type": "Feature", "id": 12, "properties": {},
         "geometry": {"type": "MultiPolygon", "coordinates": [square]}},
    ]}  # fmt: skip
    path = tmp_path / "provinces.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    found = geo.load(path)
    assert found.codes == {"11", "12"} and not found.schematic and found.centres == {}
    assert found.review_number == "GS(2099)0001"
    # written the RFC 7946 way (outer ring counter-clockwise): turned for d3-geo, clockwise
    (ring,) = found.geojson["features"][0]["geometry"]["coordinates"]
    assert geo._area(ring) < 0 and geo._area(square[0]) > 0
    assert [f["properties"]["code"] for f in found.geojson["features"]] == ["11", "12"]
    # the setting: a relative path is under the home
    cfg = DashboardSettings(province_geojson=Path("maps/p.geojson")).resolved(tmp_path)
    assert cfg.province_geojson == tmp_path / "maps" / "p.geojson"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not JSON"),
        ('{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "no features"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
         '{"code": "11"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}',
         "not a Polygon"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
         '{"name": "x"}, "geometry": {"type": "Polygon", "coordinates": []}}]}',
         "names no province"),
    ],
)  # fmt: skip
def test_a_file_the_chart_cannot_draw_is_refused_with_dsh004(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(geo.ProvinceMapInvalid, match=says) as refused:
        geo.load(path)
    assert refused.value.code == "DSH004" and str(path) in str(refused.value)
    with pytest.raises(geo.ProvinceMapInvalid, match="cannot read"):
        geo.load(tmp_path / "missing.geojson")
