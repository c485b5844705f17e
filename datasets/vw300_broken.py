"""The 300-VW test frames that mmpose skips as broken: 2,127 frames of 16 test videos.

Source: open-mmlab/mmpose, tests/data/300vw/broken_frames.npy (read by its
tools/dataset_converters/300vw2coco.py), Copyright 2018-2020 Open-MMLab, licensed under the Apache License,
Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Converted here from that pickled dict (never
unpickled by this project) to inclusive ranges of frame numbers; the numbers are unchanged.

Frame numbers are 1-based annotation file numbers, `annot/000123.pts` -> 123 (mmpose skips a frame when
`int(annot.split('.')[0])` is listed), i.e. 0-based frame index + 1, the numbering of `extra/` lists too.
They describe the real release only: redbench.datasets.vw300 applies them to videos without a synthetic
sidecar, and refuses a video too short for its list (a different copy of 300-VW).
"""

from __future__ import annotations

SOURCE = "mmpose tests/data/300vw/broken_frames.npy (Apache-2.0, Copyright 2018-2020 Open-MMLab)"

# video id -> inclusive ranges "a-b" and single frames, space-separated
_RANGES: dict[str, str] = {
    "401": (
        "722-724 727-731 788-789 792 795 810-811 850-891 897-898 902-903 910-911 913-923 1122-1137 1140 "
        "1143-1158 1160-1164 1381 1543-1545 1605-1606 1614-1615 1618"
    ),
    "402": "677-678 682 686-695 805-814 1015-1042 1068 1075-1078 1080 1082-1096 1664 1666-1701",
    "410": (
        "148 150 176 178-180 182-184 186-188 190-192 194-196 198-200 202-204 206-208 283-284 286-288 290-292 "
        "294 316-344 542-543 626 686-688 690-692 694-695 700 816 823-832 834-835 1058-1059 1118-1132 "
        "1183-1192 1194 1218-1230 1232 1234-1235 1239-1240 1242-1243 1282-1284 1286-1288 1290-1292 1294"
    ),
    "411": (
        "19-20 60 80 82-120 231-232 234-370 454-475 480 486-517 522-573 578 627-631 702-703 707 1271-1272 "
        "1274-1289"
    ),
    "508": (
        "14 147-150 267-274 367-368 370-373 382 613 618 831-832 870 930-935 1029 1086-1088 1175-1176 "
        "1179-1184 1186-1192 1280-1293 1316 1501-1502 1927-1928 1930-1935 1973-1974 1987 1989 2008 2036 "
        "2039-2040 2042-2046 2239 2382 2404-2405 3018 3123-3128"
    ),
    "518": (
        "392 475-480 482-512 514-518 633 670-671 780-784 786 1607-1624 1626-1632 1634-1640 1706-1744 "
        "1746-1752 1754-1760 1762-1767 1954-1968 1970-1997 2003-2008 2028 2046 2055-2068"
    ),
    "529": (
        "90-96 133 139 605 644-648 650-656 659 661 691-692 1340-1344 1346-1349 1357 1367-1368 1370-1376 "
        "1422-1424 1483 1824 1908-1912 1914-1920 1922 2058-2063 2075-2080 2226-2228 2248 2250-2256 2258-2264 "
        "2266-2268 2288 2290 2422-2424 2426-2432 2434-2440 2442-2444 2484 2487 2498-2503 2834-2840 3007"
    ),
    "530": (
        "554-556 720 726-728 730-736 738-744 828-832 834-840 842-848 874-880 882-888 890-896 898-901 927-928 "
        "935-936 1186-1188 1247-1248 1250 1276 1296 1356-1361 1426-1427 1802-1803 1820 2074-2080 2082-2088 "
        "2090-2096"
    ),
    "531": "109 279-287 322-325",
    "533": (
        "1062-1188 1232-1240 1245-1255 1257-1326 1379-1380 1403-1407 1424 1426-1427 1484-1485 1498-1500 "
        "1504-1505"
    ),
    "540": "744 746-750",
    "547": "111-112 114-120 122-128 130-135 959 978 1050-1055",
    "548": (
        "429-432 434-440 442-448 450 582-584 586-592 594-600 602 624 626 642 804-808 898-904 906-912 914-920 "
        "922-924 1170-1207 1260-1288 1394 1488 1490"
    ),
    "551": "180-181 298-302 494 506-509 516 562-568 675-680 682-684 686-688 690 790-792",
    "553": "551-560 713 761-763 775-776 778-780 783-784 786-792 808-809 1366",
    "557": (
        "22 32-49 57 75 177 180-231 345-379 412-469 524 536 538-539 544 546 621-623 778-780 785 793 801 809 "
        "820-822 994-995 1009 1017 1036 1096-1097 1105 1156-1189 1305 1308-1357 1532-1563 1587 1593 1601 1604 "
        "1609 1614 1617 1622-1623 1625-1651 1653 1657 1671-1715"
    ),
}


def broken_frames(video_id: str) -> frozenset[int]:
    """The 1-based frame numbers of `video_id` on mmpose's broken list (empty for the other videos)."""
    frames: set[int] = set()
    for token in _RANGES.get(video_id, "").split():
        lo, _, hi = token.partition("-")
        frames.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(frames)


def videos() -> tuple[str, ...]:
    """The video ids the list covers."""
    return tuple(sorted(_RANGES))
