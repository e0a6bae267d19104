"""Label templates every new organization receives.

Head-and-neck CT organs at risk: structure names follow AAPM TG-263 (the commonly used
short forms, with the TG-263 primary name as an alias where it differs), distinct colours,
maskids 1-N, and z-order putting small structures above the large ones that contain them.
maskid 0 is the reserved "Unclassified" class, painted like background in GT masks.
"""

UNCLASSIFIED = {
    "name": "Unclassified",
    "color": "#808080",
    "maskid": 0,
    "z_order": 0,
    "category": "",
    "aliases": [],
}

# (name, colour, category, z_order, aliases)
_HEAD_AND_NECK = [
    ("Brain", "#b2a18c", "Central nervous system", 1, []),
    ("Brainstem", "#f2c84b", "Central nervous system", 5, []),
    ("SpinalCord", "#ffd700", "Central nervous system", 5, []),
    ("Parotid_L", "#4fa3e0", "Glands", 4, []),
    ("Parotid_R", "#1f6fb2", "Glands", 4, []),
    ("Submandibular_L", "#7ed957", "Glands", 4, ["Glnd_Submand_L"]),
    ("Submandibular_R", "#3f9e2a", "Glands", 4, ["Glnd_Submand_R"]),
    ("Thyroid", "#c77dff", "Glands", 4, ["Glnd_Thyroid"]),
    ("Mandible", "#e8e2d0", "Bone", 2, ["Bone_Mandible"]),
    ("OpticNrv_L", "#ff7f0e", "Optic structures", 7, []),
    ("OpticNrv_R", "#d35400", "Optic structures", 7, []),
    ("OpticChiasm", "#ff4d6d", "Optic structures", 7, []),
    ("Eye_L", "#00c2c7", "Optic structures", 5, ["Globe_L"]),
    ("Eye_R", "#00858a", "Optic structures", 5, ["Globe_R"]),
    ("Lens_L", "#b5f2ff", "Optic structures", 8, []),
    ("Lens_R", "#7fd8ec", "Optic structures", 8, []),
    ("Cochlea_L", "#f78fb3", "Ear", 7, []),
    ("Cochlea_R", "#c44569", "Ear", 7, []),
    ("Larynx", "#9b59b6", "Aerodigestive tract", 4, []),
    ("Esophagus", "#e67e22", "Aerodigestive tract", 4, []),
    ("OralCavity", "#e74c3c", "Aerodigestive tract", 3, ["Cavity_Oral"]),
    ("Pituitary", "#8e44ad", "Central nervous system", 6, []),
    ("Lips", "#ff9ff3", "Aerodigestive tract", 4, []),
    ("BrachialPlex_L", "#55efc4", "Nerves", 5, []),
    ("BrachialPlex_R", "#00b894", "Nerves", 5, []),
]

HEAD_AND_NECK_CT = {
    "name": "Head and neck CT (organs at risk)",
    "description": (
        "Organs at risk for head-and-neck CT contouring, named after AAPM TG-263. "
        "maskid 0 is the reserved Unclassified class."
    ),
    "labels": [UNCLASSIFIED]
    + [
        {
            "name": name,
            "color": color,
            "maskid": index,
            "z_order": z,
            "category": category,
            "aliases": aliases,
        }
        for index, (name, color, category, z, aliases) in enumerate(_HEAD_AND_NECK, start=1)
    ],
}

BUILTIN_TEMPLATES = [HEAD_AND_NECK_CT]
