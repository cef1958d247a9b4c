"""Integrity of the packaged catalog: its files agree with each other and with the numbers their own headers and
descriptions state, every file and section cites dated sources, nothing dangles, every model it lists can be
served, and its loader rejects corrupted data with the file and key named."""

from __future__ import annotations

import datetime
import importlib.util
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

import sovereign.catalog
from sovereign.catalog import CatalogError, load_catalog
from sovereign.catalog.loader import _load_from

DATA = Path(sovereign.catalog.__file__).parent / "data"
STACKS = Path(__file__).resolve().parents[3] / "stacks"
AVAILABILITY_LISTS = {"anthropic", "openai", "google_gemini_api"}  # providers that publish a supported-country list
CONTINENTS = {"Europe", "North America", "South America", "Asia", "Oceania", "Africa", "Middle East"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def data_file(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


# --- regions ------------------------------------------------------------------------------------------------

def test_every_region_has_a_known_country_a_continent_and_at_least_two_zones(catalog):
    known = catalog.known_countries()
    for (cloud, name), region in catalog.regions.items():
        assert (region.cloud, region.name) == (cloud, name)
        assert re.fullmatch(r"[A-Z]{2}", region.country) and region.country in known, name
        assert region.continent in CONTINENTS, name
        assert len(region.zones) >= 2, name
        assert all(zone.startswith(name) and zone != name for zone in region.zones), name


def test_aws_regions_carry_their_partition_and_gcp_regions_none(catalog):
    for region in catalog.regions.values():
        if region.cloud == "aws":
            assert region.partition in {"aws", "aws-cn", "aws-us-gov", "aws-eusc"}
            assert region.dns_suffix
        else:
            assert region.partition is None and region.dns_suffix is None
    assert catalog.region("aws", "cn-north-1").dns_suffix == "amazonaws.com.cn"
    assert catalog.region("aws", "eusc-de-east-1").dns_suffix == "amazonaws.eu"


def test_gcp_zone_exceptions_are_kept(catalog):
    assert catalog.region("gcp", "europe-west1").zones == ("europe-west1-b", "europe-west1-c", "europe-west1-d")
    assert catalog.region("gcp", "us-central1").zones[-1] == "us-central1-f"
    assert catalog.region("gcp", "us-east1").zones[0] == "us-east1-b"


# Regions whose zones no source listed (regions.yaml's zones_not_verified); kept exact.
UNVERIFIED_ZONES = {
    "aws": {"ap-east-2", "ap-southeast-6", "ap-southeast-7", "mx-central-1", "cn-north-1", "cn-northwest-1",
            "us-gov-east-1", "us-gov-west-1", "eusc-de-east-1"},
    "gcp": {"africa-south1", "asia-southeast3", "europe-north2", "northamerica-south1"},
}


def test_aws_zone_names_are_the_ones_ec2_reports(catalog):
    zones = {name: catalog.region("aws", name).zones for name in catalog.region_names("aws")}
    assert zones["ap-northeast-1"] == ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d")  # no b
    assert zones["ca-central-1"] == ("ca-central-1a", "ca-central-1b", "ca-central-1d")
    assert zones["us-west-1"] == ("us-west-1a", "us-west-1b")
    assert len(zones["us-east-1"]) == 6 and len(zones["us-west-2"]) == 4
    for cloud in ("aws", "gcp"):
        separator = "" if cloud == "aws" else "-"
        for name in catalog.region_names(cloud):
            region = catalog.region(cloud, name)
            assert all(re.fullmatch(re.escape(name + separator) + "[a-f]", z) for z in region.zones), name
            assert list(region.zones) == sorted(region.zones), name
            if not region.zones_verified:  # the pattern, nothing more
                assert region.zones == tuple(f"{name}{separator}{letter}" for letter in "abc"), name
        assert {n for n in catalog.region_names(cloud) if not catalog.region(cloud, n).zones_verified} \
            == UNVERIFIED_ZONES[cloud], cloud


# AWS region codes say their partition: cn-* is aws-cn, us-gov-* aws-us-gov, eusc-* aws-eusc, the rest aws.
AWS_PARTITION_PREFIXES = {"cn-": "aws-cn", "us-gov-": "aws-us-gov", "eusc-": "aws-eusc"}
# GCP names that regions.yaml's header says were seen only in API listings and are not regions.
GCP_UNVERIFIED_NAMES = {"europe-west15", "us-west8", "us-east7", "us-central2"}


def test_region_names_follow_their_clouds_naming_and_partitions(catalog):
    aws, gcp = catalog.region_names("aws"), catalog.region_names("gcp")
    assert len(aws) > 30 and len(gcp) > 30
    for name in aws:
        assert re.fullmatch(r"[a-z]{2,4}(-[a-z]+)+-\d", name), name
        expected = next((p for prefix, p in AWS_PARTITION_PREFIXES.items() if name.startswith(prefix)), "aws")
        assert catalog.region("aws", name).partition == expected, name
    for name in gcp:
        assert re.fullmatch(r"[a-z]+-[a-z]+\d+", name), name
    assert not GCP_UNVERIFIED_NAMES & set(gcp)
    assert {catalog.region("aws", n).partition for n in aws} == set(data_file("regions.yaml")["aws_partitions"])


def test_a_country_is_on_one_continent_on_both_clouds(catalog):
    continents: dict[str, set[str]] = {}
    for region in catalog.regions.values():
        continents.setdefault(region.country, set()).add(region.continent)
    assert {country: found for country, found in continents.items() if len(found) > 1} == {}
    assert continents["DE"] == {"Europe"} and continents["AE"] == {"Middle East"}  # the header's assignment


def test_unknown_region_raises_key_error_naming_it(catalog):
    with pytest.raises(KeyError, match="europe-west33.*did you mean 'europe-west3'"):
        catalog.region("gcp", "europe-west33")
    with pytest.raises(KeyError, match="unknown cloud"):
        catalog.region("azure", "westeurope")


# --- providers, availability, jurisdictions ------------------------------------------------------------------

def test_availability_lists_have_the_size_their_pages_give_and_belong_to_their_provider(catalog):
    # The counts availability.yaml's sources give for each page, e.g. "— 175 codes".
    stated = {label: int(found[1]) for label, text in sources("availability.yaml").items()
              if (found := re.search(r"— (\d+) codes", text))}
    assert stated == {"anthropic": 175, "openai": 188, "google_gemini_api": 222}
    for list_id, entry in data_file("availability.yaml").items():
        assert entry["codes"] == sorted(entry["codes"]), list_id
        # Keyed by the provider that uses it.
        assert catalog.providers[list_id].supported_countries == frozenset(entry["codes"]), list_id
        assert len(entry["codes"]) == stated[list_id], list_id


def test_only_providers_with_a_published_list_have_supported_countries(catalog):
    with_list = {pid for pid, p in catalog.providers.items() if p.supported_countries is not None}
    assert with_list == set(AVAILABILITY_LISTS)


def test_every_host_belongs_to_one_provider_and_docs_are_https(catalog):
    owner: dict[str, str] = {}
    for pid, provider in catalog.providers.items():
        assert provider.hosts and all((h.host is None) != (h.pattern is None) for h in provider.hosts), pid
        docs = urlsplit(provider.docs)
        assert docs.scheme == "https" and "." in docs.netloc, pid
        names = [h.host or h.pattern for h in provider.hosts + provider.related_hosts]
        names += [r.host for r in provider.regional_hosts]
        assert len(names) == len(set(names)), pid
        for name in names:
            assert owner.setdefault(name, pid) == pid, f"{name} is listed under {owner[name]} and {pid}"
    assert {"api.anthropic.com", "api.openai.com", "eu.api.openai.com"} <= set(owner)


# Areas a regional host may name besides single country codes, and the group each stands for.
AREA_GROUPS = {"EEA": "eea"}


def test_every_regional_host_area_spells_out_its_countries(catalog):
    hosts = [r for provider in catalog.providers.values() for r in provider.regional_hosts]
    assert len(hosts) >= 10
    for regional in hosts:
        expected: set[str] = set()
        for part in regional.area.split("+"):
            expected |= catalog.groups[AREA_GROUPS[part]].codes if part in AREA_GROUPS else {part}
        assert regional.countries == expected, regional.host


def test_regional_host_areas_expand_to_countries(catalog):
    eu = next(r for r in catalog.providers["openai"].regional_hosts if r.host == "eu.api.openai.com")
    assert eu.countries == catalog.groups["eea"].codes | {"CH"}
    assert eu.regional_processing is True
    ae = next(r for r in catalog.providers["openai"].regional_hosts if r.host == "ae.api.openai.com")
    assert ae.regional_processing is None  # the table says 'partial'
    together = {r.host: r.countries for r in catalog.providers["together_ai"].regional_hosts}
    assert together == {"us-api.together.ai": {"US"}, "ca-api.together.ai": {"CA"}}


def test_patterns_use_only_the_documented_placeholders(catalog):
    for provider in catalog.providers.values():
        for host in provider.hosts:
            if host.pattern:
                assert set(re.findall(r"\{([^}]*)\}", host.pattern)) <= {"region", "resource"}
    assert catalog.providers["anthropic"].request_params == {"inference_geo": ("global", "us")}


def test_groups_agree_with_each_other_and_with_their_descriptions(catalog):
    groups = catalog.groups
    eu, eea = groups["eu_member_states"], groups["eea"]
    assert len(eu.codes) == int(re.match(r"The (\d+) EU member states", eu.description)[1]) == 27
    # "the 27 EU member states plus Iceland, Liechtenstein and Norway"; Switzerland is not in it.
    assert eu.codes < eea.codes and eea.codes - eu.codes == {"IS", "LI", "NO"} and "CH" not in eea.codes
    assert not groups["gdpr_adequacy"].codes & eea.codes  # adequacy decisions are about third countries
    tier1, tier3 = groups["bis_ai_diffusion_2025_tier1"], groups["bis_ai_diffusion_2025_tier3"]
    assert "US" in tier1.codes
    assert len(tier1.codes) == 1 + int(re.search(r"plus the (\d+) destinations", tier1.description)[1])
    assert tier3.codes == {"CN", "MO"} and not tier1.codes & tier3.codes  # only the confirmed members
    assert tier1.status == tier3.status == "rescinded"
    assert {g.status for gid, g in groups.items() if not gid.startswith("bis_")} == {None}
    # 28 CFR 202.601: China, Cuba, Iran, North Korea, Russia, Venezuela; part 202's China includes HK and MO.
    assert groups["us_doj_dsp_countries_of_concern"].codes == {"CN", "CU", "IR", "KP", "RU", "VE", "HK", "MO"}
    # UA appears in OFAC only region by region; matching it as a whole country would block all of Ukraine.
    assert groups["us_ofac_embargoed"].codes == {"CU", "IR", "KP"}
    assert groups["us_ofac_embargoed"].codes <= groups["us_doj_dsp_countries_of_concern"].codes


def test_codes_outside_every_providers_list_are_only_countries_of_concern(catalog):
    # The three published lists were compiled independently from the providers' pages; a code the catalog uses
    # that none of them has is a typo or a non-ISO code (EL, UK), unless the providers exclude that country.
    listed = set().union(*(p.supported_countries for p in catalog.providers.values() if p.supported_countries))
    used = {r.country for r in catalog.regions.values()} | {p.hq_country for p in catalog.providers.values()}
    used |= set().union(*(g.codes for g in catalog.groups.values()))
    used |= set().union(*(r.countries for p in catalog.providers.values() for r in p.regional_hosts))
    concern = catalog.groups["us_doj_dsp_countries_of_concern"].codes | catalog.groups["us_ofac_embargoed"].codes
    assert used - listed <= concern and "CN" in used - listed
    assert not {"EL", "UK"} & (used | listed)  # EU and everyday spellings of GR and GB


# --- no dangling names -----------------------------------------------------------------------------------------

def test_no_dangling_names(catalog):
    known = catalog.known_countries()
    for cloud in ("aws", "gcp"):
        for mt in catalog.machine_types(cloud):
            assert mt.gpu in catalog.gpus and mt in catalog.gpus[mt.gpu].machine_types, mt.name
    for provider in catalog.providers.values():
        assert provider.hq_country in known
        for regional in provider.regional_hosts:
            assert regional.countries <= known, regional.host


# --- models and GPUs -------------------------------------------------------------------------------------------

# Models whose config.json sets head_dim apart from hidden_size / num_attention_heads (kept exact, so that a
# head_dim typo shows up here).
KNOWN_DECOUPLED_HEAD_DIM = {"mistral-small-24b-instruct-2501", "gemma-2-9b-it", "gemma-2-27b-it", "gpt-oss-20b",
                            "gpt-oss-120b"}


def test_model_architecture_numbers_are_consistent(catalog):
    decoupled = set()
    for model in catalog.models.values():
        assert model.id == model.hf_repo.split("/")[1].lower(), model.id
        assert model.num_attention_heads % model.num_key_value_heads == 0, model.id
        if model.head_dim * model.num_attention_heads != model.hidden_size:
            decoupled.add(model.id)
        if model.moe_experts is None:
            assert model.intermediate_size > model.hidden_size, model.id
        else:
            assert 1 < model.moe_experts_per_token < model.moe_experts, model.id
        context = model.max_position_embeddings
        assert context >= 8192 and context & (context - 1) == 0, model.id  # a power of two
    assert decoupled == KNOWN_DECOUPLED_HEAD_DIM
    assert catalog.models["mixtral-8x7b-instruct-v0.1"].params_total_b == 46.7
    assert catalog.models["gpt-oss-120b"].params_active_b == 5.1
    assert catalog.models["gpt-oss-20b"].native_dtype == "mxfp4-moe"


def test_each_hugging_face_organisation_has_one_publisher(catalog):
    publishers: dict[str, set[str]] = {}
    for model in catalog.models.values():
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", model.hf_repo), model.id
        publishers.setdefault(model.hf_repo.split("/")[0], set()).add(model.publisher)
    assert {org: names for org, names in publishers.items() if len(names) > 1} == {}
    assert publishers["meta-llama"] == {"Meta"}


def layer_params_b(model, experts: int) -> float:
    """Billions of parameters in the transformer layers: attention (q and o: hidden x heads*head_dim; k and v:
    hidden x kv_heads*head_dim) plus a gated MLP (gate, up, down: 3 x hidden x intermediate) per expert."""
    attention = 2 * model.hidden_size * model.head_dim * (model.num_attention_heads + model.num_key_value_heads)
    return model.num_hidden_layers * (attention + 3 * model.hidden_size * model.intermediate_size * experts) / 1e9


def test_stated_parameter_counts_agree_with_the_architecture(catalog):
    # The embedding counts once when the output layer is tied to it, twice when not; with no vocab_size it may add
    # up to a tenth. The stated size (the publisher's figure or nominal class) must lie within 5% of that range.
    # e.g. Llama 3.1 8B: layers 6.98e9 + embedding 128256 x 4096 = 0.53e9 -> 7.50..8.03B, stated 8.
    for model in catalog.models.values():
        layers = layer_params_b(model, model.moe_experts or 1)
        if model.vocab_size:
            embedding = model.vocab_size * model.hidden_size / 1e9
            low, high = layers + embedding, layers + 2 * embedding
        else:
            embedding = max(model.params_total_b - layers, 0.0)
            low, high = layers, 1.1 * layers
        assert 0.95 * low <= model.params_total_b <= 1.05 * high, (model.id, round(low, 2), round(high, 2))
        if model.moe_experts:
            active = layer_params_b(model, model.moe_experts_per_token)
            assert 0.95 * active <= model.params_active_b <= 1.05 * (active + 2 * embedding), model.id


def weight_bytes(model) -> float:
    # bf16 stores 2 bytes per parameter; gpt-oss ships MoE weights in MXFP4, ~4.25 bits per parameter
    # (4-bit values plus a shared 8-bit scale per 32-value block), so 4.25 / 8 bytes.
    bytes_per_param = 4.25 / 8 if model.native_dtype == "mxfp4-moe" else 2
    return model.params_total_b * 1e9 * bytes_per_param


def test_every_model_fits_some_machine_type(catalog):
    # Weights must leave 10% of GPU memory for activations/KV cache: weights <= 0.9 * MiB * 2**20 * gpus.
    # e.g. Llama 3.1 405B: 405e9 * 2 = 810e9 B; 8 x H200 = 0.9 * 144384 * 2**20 * 8 = 1.09e12 B -> fits.
    #      gpt-oss-120b: 117e9 * 4.25 / 8 = 62.2e9 B; 1 x H100 = 0.9 * 81920 * 2**20 = 77.3e9 B -> fits.
    machine_types = catalog.machine_types("aws") + catalog.machine_types("gcp")
    for model in catalog.models.values():
        capacity = [0.9 * catalog.gpus[mt.gpu].memory_mib * 2**20 * mt.gpu_count for mt in machine_types]
        assert weight_bytes(model) <= max(capacity), model.id


def test_machine_types_have_cloud_specific_fields(catalog):
    for mt in catalog.machine_types("aws"):
        assert mt.vcpu and mt.memory_mib and mt.gke_accelerator is None
    for mt in catalog.machine_types("gcp"):
        assert mt.vcpu and mt.memory_mib  # from gcloud machine-types list (gpus.yaml's sources)
    by_name = {mt.name: mt for mt in catalog.machine_types("gcp")}
    assert by_name["a3-megagpu-8g"].gke_accelerator == "nvidia-h100-mega-80gb"
    assert by_name["a3-edgegpu-8g"].gke_accelerator is None  # not verified


def test_machine_type_names_agree_with_their_sizes(catalog):
    for mt in catalog.machine_types("aws"):
        size = re.fullmatch(r"[a-z0-9-]+\.(\d*)xlarge", mt.name)
        assert size and mt.vcpu == 4 * int(size[1] or 1), mt.name  # an xlarge is 4 vCPUs
        assert mt.memory_mib >= 4096 * mt.vcpu, mt.name
    named = 0
    for mt in catalog.machine_types("gcp"):
        if count := re.search(r"-(\d+)g$", mt.name):  # a2-highgpu-4g: 4 GPUs
            named += 1
            assert mt.gpu_count == int(count[1]), mt.name
    assert named > 10


# GCP families whose shape is one slice per GPU (a2-highgpu-1g: 12 vCPU, 85 GB; -8g: 96, 680): vCPU and memory are
# the per-GPU slice times the GPU count. a2-megagpu-16g, a3-megagpu/edgegpu/ultragpu and a4 come in one size only.
PER_GPU_SLICE = {"a2-highgpu": (12, 85 * 1024), "a2-ultragpu": (12, 170 * 1024), "a3-highgpu": (26, 234 * 1024)}


def test_gcp_machine_shapes_follow_their_names(catalog):
    by_name = {mt.name: mt for mt in catalog.machine_types("gcp")}
    for mt in by_name.values():
        if mt.name.startswith("g2-standard-"):
            assert mt.vcpu == int(mt.name.rsplit("-", 1)[1]) and mt.memory_mib == 4096 * mt.vcpu, mt.name
        elif family(mt) in PER_GPU_SLICE:
            vcpu, memory = PER_GPU_SLICE[family(mt)]
            assert (mt.vcpu, mt.memory_mib) == (vcpu * mt.gpu_count, memory * mt.gpu_count), mt.name
        assert mt.vcpu % 2 == 0 and mt.memory_mib >= 4096 * mt.vcpu, mt.name
    assert (by_name["a3-megagpu-8g"].vcpu, by_name["a3-megagpu-8g"].memory_mib) == (208, 1872 * 1024)
    assert (by_name["a4-highgpu-8g"].vcpu, by_name["a4-highgpu-8g"].memory_mib) == (224, 3968 * 1024)


def test_gpu_ids_products_labels_and_memory_agree(catalog):
    nominal = {gid: entry["memory_nominal_gb"] for gid, entry in data_file("gpus.yaml").items()}
    for gid, gpu in catalog.gpus.items():
        name = gpu.labels["karpenter.k8s.aws/instance-gpu-name"]
        assert gid.startswith(f"nvidia-{name}") and name.upper() in gpu.product.upper(), gid
        product = gpu.labels.get("nvidia.com/gpu.product")
        assert product is None or product.startswith(f"NVIDIA-{name.upper()}"), gid
        if size := re.search(r"-(\d+)gb$", gid):
            assert nominal[gid] == int(size[1]), gid
        if nominal[gid] is not None:
            # EC2 reports usable MiB; the nominal size is at most ~7% more than that in GiB (A10G: 22888 MiB, 24 GB).
            assert 0.9 <= gpu.memory_mib / 1024 / nominal[gid] <= 1.0, gid


# --- prices and offerings --------------------------------------------------------------------------------------

# Offered GPUs for which the sources gave no on-demand price of any machine type (see prices.yaml's header).
# Kept exact so that closing or opening a gap shows up here.
KNOWN_UNPRICED = {("gcp", "nvidia-b200")}
# Stack regions that no source covered (offerings.yaml's not_verified); kept exact for the same reason.
KNOWN_UNVERIFIED_STACK_REGIONS = {("aws", "cn-north-1")}


def family(mt) -> str:
    """g5.12xlarge -> g5, p6-b200.48xlarge -> p6-b200; a2-highgpu-8g -> a2-highgpu, g2-standard-4 -> g2-standard."""
    return mt.name.split(".")[0] if mt.cloud == "aws" else "-".join(mt.name.split("-")[:2])


def stack_regions() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(STACKS.glob("*.yaml")):
        config = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
        for cloud, settings in config["sovereign:clouds"].items():
            found.add((cloud, settings["region"]))
    return found


def test_prices_use_one_reference_region_per_cloud(catalog):
    assert dict(catalog.price_reference_regions) == {"aws": "us-east-1", "gcp": "us-central1"}
    by_name = {mt.name: mt.usd_per_hour for cloud in ("aws", "gcp") for mt in catalog.machine_types(cloud)}
    assert by_name["g5.xlarge"] == 1.006 and by_name["a2-highgpu-1g"] == 3.673385
    assert by_name["p5e.48xlarge"] is None and by_name["a4-highgpu-8g"] is None  # no on-demand price found
    assert all(price is None or price > 0 for price in by_name.values())


def test_every_offered_gpu_has_a_priced_machine_type_on_its_cloud(catalog):
    unpriced = set()
    for cloud in ("aws", "gcp"):
        offered = set().union(*(gpus for (c, _), gpus in catalog.offerings.items() if c == cloud))
        assert offered, cloud
        for gid in offered:
            prices = [mt.usd_per_hour for mt in catalog.gpus[gid].machine_types if mt.cloud == cloud]
            if not any(price is not None for price in prices):
                unpriced.add((cloud, gid))
    assert unpriced == KNOWN_UNPRICED


def test_more_gpus_never_cost_less_within_a_family(catalog):
    by_name = {mt.name: mt for cloud in ("aws", "gcp") for mt in catalog.machine_types(cloud)}
    assert by_name["g5.12xlarge"].usd_per_hour > by_name["g5.xlarge"].usd_per_hour
    assert by_name["a2-highgpu-8g"].usd_per_hour > by_name["a2-highgpu-1g"].usd_per_hour
    priced = [mt for mt in by_name.values() if mt.usd_per_hour is not None]
    pairs = 0
    for more in priced:
        for fewer in priced:
            if (more.cloud, family(more)) == (fewer.cloud, family(fewer)) and more.gpu_count > fewer.gpu_count:
                pairs += 1
                assert more.usd_per_hour > fewer.usd_per_hour, (more.name, fewer.name)
    assert pairs > 50


def test_offerings_reference_only_catalog_regions_and_gpus(catalog):
    raw = yaml.safe_load((DATA / "offerings.yaml").read_text(encoding="utf-8"))
    assert set(raw) == {"aws", "gcp", "not_verified"}
    for cloud in ("aws", "gcp"):
        listed = set(raw[cloud])
        unverified = set(raw["not_verified"][cloud])
        assert not listed & unverified, cloud
        assert listed | unverified == set(catalog.region_names(cloud)), cloud
        on_cloud = {mt.gpu for mt in catalog.machine_types(cloud)}
        for region, gpus in raw[cloud].items():
            assert set(gpus) <= on_cloud, (cloud, region)
            assert catalog.offered_gpus(cloud, region) == frozenset(gpus)
        for region in unverified:
            assert catalog.offered_gpus(cloud, region) is None
    assert set(catalog.offerings) <= set(catalog.regions)


def test_offerings_facts(catalog):
    assert catalog.offered_gpus("aws", "us-east-1") == {mt.gpu for mt in catalog.machine_types("aws")}
    assert catalog.offered_gpus("aws", "eu-south-1") == frozenset()  # only g4dn (T4) there, outside the catalog
    assert catalog.offered_gpus("gcp", "europe-west8") == frozenset()  # only G4 (RTX PRO 6000) there
    assert catalog.offered_gpus("gcp", "me-central2") == {"nvidia-l4"}
    assert "nvidia-a10g" not in catalog.offered_gpus("gcp", "us-central1")  # no GCP machine type for it
    with pytest.raises(KeyError, match="europe-west33"):
        catalog.offered_gpus("gcp", "europe-west33")
    with pytest.raises(KeyError, match="unknown cloud"):
        catalog.offered_gpus("azure", "westeurope")


# Stack regions' offered GPUs with no zone-level source (gpu_zones.yaml's not_verified); kept exact.
# (cn-north-1's offerings are not verified at all, so it has nothing to check here.)
KNOWN_ZONELESS_STACK_GPUS: set[tuple[str, str, str]] = set()


def test_gpu_zones_are_zones_of_regions_offering_that_gpu(catalog):
    assert len(catalog.zone_offerings) > 100
    for (cloud, region, gid), zones in catalog.zone_offerings.items():
        assert zones and set(zones) <= set(catalog.region(cloud, region).zones), (cloud, region, gid)
        assert gid in catalog.offered_gpus(cloud, region), (cloud, region, gid)
        assert catalog.gpu_zones(cloud, region, gid) == zones
    for (cloud, region), gpus in catalog.offerings.items():
        for gid in {mt.gpu for mt in catalog.machine_types(cloud)} - gpus:
            assert catalog.gpu_zones(cloud, region, gid) == (), (cloud, region, gid)


def test_gpu_zones_facts(catalog):
    assert catalog.gpu_zones("gcp", "me-central2", "nvidia-l4") == ("me-central2-a", "me-central2-c")
    assert catalog.gpu_zones("gcp", "us-central1", "nvidia-a100-40gb") == tuple(
        f"us-central1-{letter}" for letter in "abcf")
    assert catalog.gpu_zones("gcp", "europe-west8", "nvidia-h100-80gb") == ()  # a3-highgpu rows, no accelerator
    assert catalog.gpu_zones("gcp", "asia-south2", "nvidia-h100-80gb") is None  # offered, zones unknown
    assert catalog.gpu_zones("aws", "cn-north-1", "nvidia-l4") is None  # region not verified
    assert "ap-northeast-1b" not in (catalog.gpu_zones("aws", "ap-northeast-1", "nvidia-l4") or ())
    with pytest.raises(KeyError, match="europe-west33"):
        catalog.gpu_zones("gcp", "europe-west33", "nvidia-l4")


def test_every_stack_gpu_choice_has_zone_level_facts(catalog):
    missing = set()
    for cloud, region in stack_regions():
        for gid in catalog.offered_gpus(cloud, region) or ():
            if catalog.gpu_zones(cloud, region, gid) is None:
                missing.add((cloud, region, gid))
    assert missing == KNOWN_ZONELESS_STACK_GPUS


def test_every_stack_region_has_a_verified_offerings_entry(catalog):
    regions = stack_regions()
    assert ("aws", "us-east-1") in regions and ("gcp", "me-central2") in regions  # the stacks were read
    unverified = {(cloud, name) for cloud, name in regions if catalog.offered_gpus(cloud, name) is None}
    assert unverified == KNOWN_UNVERIFIED_STACK_REGIONS


# --- managed Kubernetes versions ----------------------------------------------------------------------------------

def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def sdk_source(package: str, relative: str) -> str:
    """Text of a file of an installed Pulumi provider SDK, read without importing the package."""
    spec = importlib.util.find_spec(package)
    assert spec and spec.submodule_search_locations, package
    return (Path(next(iter(spec.submodule_search_locations))) / relative).read_text(encoding="utf-8")


def test_eks_versions_follow_the_documented_support_periods(catalog):
    versions = catalog.versions("aws")
    assert [v.version for v in versions] == ["1.31", "1.32", "1.33", "1.34", "1.35", "1.36"]
    assert dict(catalog.eks_versions)["1.34"].standard_end == datetime.date(2026, 12, 2)
    for v in versions:
        # "standard support for the first 14 months after it's released ... extended support for the next 12
        # months". The calendar rounds to the day (1.35: released 01-28 per endoflife.date, standard ends 03-27).
        assert abs((v.standard_end - add_months(v.release, 14)).days) <= 3, v.version
        assert v.extended_end == add_months(v.standard_end, 12), v.version
    assert {v.version for v in versions if not v.verified} == {"1.35", "1.36"}  # release day from endoflife.date


def test_gke_versions_are_ordered_and_have_no_extended_end(catalog):
    versions = catalog.versions("gcp")
    assert [v.version for v in versions] == ["1.31", "1.32", "1.33", "1.34", "1.35", "1.36"]
    for older, newer in zip(versions, versions[1:]):
        assert older.release < newer.release and older.standard_end < newer.standard_end, newer.version
    assert all(v.extended_end is None and not v.verified for v in versions)


def test_versions_the_program_accepts_are_in_the_catalog(catalog):
    from sovereign.domain.spec import EKS_VERSIONS, GKE_CHANNELS
    assert set(EKS_VERSIONS) <= set(catalog.eks_versions)
    assert set(GKE_CHANNELS) <= set(catalog.upgrade_policies["gcp"].values)


def test_upgrade_policy_values_match_the_pinned_provider_sdks(catalog):
    aws, gcp = catalog.upgrade_policies["aws"], catalog.upgrade_policies["gcp"]
    assert (aws.field, set(aws.values), aws.default) == ("upgradePolicy.supportType", {"STANDARD", "EXTENDED"},
                                                         "EXTENDED")
    text = sdk_source("pulumi_aws", "eks/_inputs.py")
    block = text[text.index("class ClusterUpgradePolicyArgs"):][:3000]
    stated = re.search(r"Valid values are ((?:`[A-Z]+`(?:, )?)+)", block)
    assert stated and set(re.findall(r"`([A-Z]+)`", stated[1])) == set(aws.values)
    text = sdk_source("pulumi_gcp", "container/_inputs.py")
    block = text[text.index("class ClusterReleaseChannelArgs"):][:3000]
    block = block[:block.index("def __init__")]
    assert set(re.findall(r"\* ([A-Z]+):", block)) == set(gcp.values) and gcp.default is None


# --- cited sources ---------------------------------------------------------------------------------------------

DATA_FILES = sorted(path.name for path in DATA.glob("*.yaml"))
# Files whose sections are the two clouds; the others cite each of their top-level entries (groups for
# jurisdictions.yaml): each provider, supported-country list, country group and model.
CLOUD_FILES = {"regions.yaml", "gpus.yaml", "prices.yaml", "offerings.yaml", "kubernetes.yaml", "gpu_zones.yaml"}
SOURCE_ENTRY = re.compile(r"#   (?P<labels>[\w./-]+(?:, [\w./-]+)*): (?P<text>\S.*)")
URL = re.compile(r"https://[^\s;,()<>\"']+")


def header(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return lines[:next(i for i, line in enumerate(lines) if not line.startswith("#"))]


def sources(name: str) -> dict[str, str]:
    """The header's Sources block, label -> text (continuation lines joined). It starts at the line `# Sources ...`
    (whose sentence may go on over `# ` lines); each entry is `#   label[, label]: text`, continued on lines
    indented further; any other line ends it."""
    lines = header(name)
    starts = [i for i, line in enumerate(lines) if line.startswith("# Sources")]
    assert len(starts) == 1, f"{name}: the header needs one '# Sources' block"
    rest = lines[starts[0] + 1:]
    while rest and rest[0].startswith("# ") and not rest[0].startswith("#  "):
        rest = rest[1:]
    cited: dict[str, str] = {}
    labels: list[str] = []
    for line in rest:
        if line.startswith("#    ") and labels:
            for label in labels:
                cited[label] += " " + line[1:].strip()
        elif line.startswith("#   "):
            entry = SOURCE_ENTRY.fullmatch(line)
            assert entry, f"{name}: a source must say what it sources ('#   label: ...'): {line!r}"
            labels = entry["labels"].split(", ")
            for label in labels:
                assert label not in cited, f"{name}: {label} is cited twice"
                cited[label] = entry["text"]
        else:
            break
    return cited


def cited_sections(name: str) -> set[str]:
    if name in CLOUD_FILES:
        return {"aws", "gcp"}
    data = data_file(name)
    return set(data["groups"] if name == "jurisdictions.yaml" else data)


def test_the_source_checks_see_every_data_file():
    # The parametrized test below would pass vacuously on an empty glob.
    assert len(DATA_FILES) == 11 and CLOUD_FILES < set(DATA_FILES)


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_data_file_cites_dated_sources_for_each_section(name):
    text = (DATA / name).read_text(encoding="utf-8")
    assert re.search(r"\b(Compiled|Researched)\b.*\b\d{4}-\d{2}-\d{2}\b", "\n".join(header(name))), \
        f"{name}: the header says when the data was compiled"
    # The sources are here, not in a folder beside the repository.
    assert not re.search(r"\.\./|\bthe reference\b|reference pack", text, re.IGNORECASE), name
    cited = sources(name)
    assert cited_sections(name) <= set(cited), f"{name}: not sourced: {sorted(cited_sections(name) - set(cited))}"
    for label, entry in cited.items():
        urls = URL.findall(entry)
        assert urls, f"{name}: {label}: no https URL"
        for url in urls:
            host = urlsplit(url).netloc
            assert re.fullmatch(r"([a-z0-9-]+\.)+[a-z]{2,}", host), f"{name}: {label}: {url}"
        assert re.search(r"\b(19|20)\d\d\b|\bundated\b", entry), f"{name}: {label}: no date, and not marked undated"


def test_entries_carry_their_own_source_and_the_header_cites_it(catalog):
    cited = sources("availability.yaml")
    for list_id, entry in data_file("availability.yaml").items():
        assert entry["page"] in cited[list_id] and str(entry["page_date"]).strip(), list_id
    cited = sources("jurisdictions.yaml")
    for gid, group in data_file("jurisdictions.yaml")["groups"].items():
        assert urlsplit(group["source"]).scheme == "https" and group["source"] in cited[gid], gid
        assert str(group["as_of"]).strip(), gid
    cited = sources("models.yaml")
    for mid, model in catalog.models.items():
        assert f"https://huggingface.co/{model.hf_repo} " in cited[mid] + " ", mid
        assert re.search(r"config\.json|sku_list\.py", cited[mid]), f"{mid}: where its architecture numbers come from"


def test_the_sources_block_parser_rejects_what_the_tests_rely_on_it_to_reject(tmp_path, monkeypatch):
    monkeypatch.setitem(globals(), "DATA", tmp_path)
    (tmp_path / "a.yaml").write_text("# a.yaml\n# Sources:\n#   aws: https://example.com/x (2026)\n#   unlabelled\n"
                                     "x: 1\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="must say what it sources"):
        sources("a.yaml")
    (tmp_path / "b.yaml").write_text("# b.yaml\n# Sources (per\n# cloud):\n#   aws: https://a.example/x\n"
                                     "#     more (undated)\n#   gcp, azure: https://b.example/\n# Other\n#   not: x\n"
                                     "x: 1\n", encoding="utf-8")
    assert sources("b.yaml") == {"aws": "https://a.example/x more (undated)", "gcp": "https://b.example/",
                                 "azure": "https://b.example/"}


# --- loader behaviour ------------------------------------------------------------------------------------------

def test_load_catalog_is_cached_and_read_only(catalog):
    assert load_catalog() is load_catalog() is catalog
    with pytest.raises(TypeError):
        catalog.providers["rogue"] = None
    with pytest.raises(TypeError):
        catalog.gpus["nvidia-l4"].labels["nvidia.com/gpu.product"] = "x"


def corrupt(tmp_path: Path, file: str, edit) -> Path:
    """Copy the packaged data to tmp_path and apply `edit` to one file's parsed YAML."""
    directory = tmp_path / "data"
    shutil.copytree(DATA, directory)
    data = yaml.safe_load((directory / file).read_text(encoding="utf-8"))
    edit(data)
    (directory / file).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return directory


CORRUPTIONS = [
    ("regions.yaml", lambda d: d["aws"]["eu-central-1"].update(zones=["eu-central-1a"]), "aws.eu-central-1.zones"),
    ("regions.yaml", lambda d: d["gcp"]["europe-west3"].update(country="de"), "gcp.europe-west3.country"),
    ("regions.yaml", lambda d: d["gcp"]["europe-west3"].update(zones=["europe-west4-a", "europe-west4-b"]),
     "gcp.europe-west3.zones[0]"),
    ("regions.yaml", lambda d: d["aws"]["us-east-1"].update(partition="aws-mars"), "aws.us-east-1.partition"),
    ("regions.yaml", lambda d: d["zones_not_verified"]["aws"].append("us-east-9"), "zones_not_verified.aws[9]"),
    ("providers.yaml", lambda d: d["anthropic"].update(availability="anthropic_api"), "anthropic.availability"),
    ("providers.yaml", lambda d: d["aws_bedrock"]["hosts"][0].update(pattern="bedrock.{zone}.amazonaws.com"),
     "aws_bedrock.hosts[0].pattern"),
    ("providers.yaml", lambda d: d["mistral"].update(hosts=[]), "mistral.hosts"),
    ("providers.yaml", lambda d: d["anthropic"].update(request_param_models={"inference_region": ["claude-*"]}),
     "anthropic.request_param_models"),
    ("providers.yaml", lambda d: d["openai"]["regional_hosts"][0].update(countries=["ZZ"]),
     "openai.regional_hosts[0].countries"),
    ("providers.yaml", lambda d: d["xai"].update(hq_contry=d["xai"].pop("hq_country")), "xai"),
    ("jurisdictions.yaml", lambda d: d["groups"]["eea"].update(codes=[]), "groups.eea.codes"),
    ("models.yaml", lambda d: d["llama-3.1-8b-instruct"].update(num_key_value_heads=7),
     "llama-3.1-8b-instruct.num_key_value_heads"),
    ("models.yaml", lambda d: d["gemma-2-9b-it"].update(head_dim=0), "gemma-2-9b-it.head_dim"),
    ("models.yaml", lambda d: d["gpt-oss-20b"].update(moe=None), "gpt-oss-20b.params_active_b"),
    ("gpus.yaml", lambda d: d["nvidia-l4"].update(memory_mib=0), "nvidia-l4.memory_mib"),
    ("gpus.yaml", lambda d: d["nvidia-b200"]["gcp_machine_types"][0].update(gke_accelerator="nvidia-l4"),
     "nvidia-b200.gcp_machine_types[0].gke_accelerator"),
    ("availability.yaml", lambda d: d["openai"]["codes"].append("ZZZ"), "openai.codes[188]"),
    ("prices.yaml", lambda d: d["aws"]["on_demand_usd_per_hour"].update({"g5.huge": 2.0}),
     "aws.on_demand_usd_per_hour.g5.huge"),
    ("prices.yaml", lambda d: d["gcp"]["on_demand_usd_per_hour"].update({"g2-standard-4": -1}),
     "gcp.on_demand_usd_per_hour.g2-standard-4"),
    ("prices.yaml", lambda d: d["aws"]["on_demand_usd_per_hour"].update({"g5.xlarge": "1.006"}),
     "aws.on_demand_usd_per_hour.g5.xlarge"),
    ("prices.yaml", lambda d: d["gcp"]["on_demand_usd_per_hour"].pop("a2-highgpu-1g"), "gcp.on_demand_usd_per_hour"),
    ("prices.yaml", lambda d: d["aws"].update(reference_region="us-central1"), "aws.reference_region"),
    ("offerings.yaml", lambda d: d["aws"].update({"us-east-9": []}), "aws.us-east-9"),
    ("offerings.yaml", lambda d: d["gcp"]["us-central1"].append("nvidia-t4"), "gcp.us-central1[6]"),
    ("offerings.yaml", lambda d: d["gcp"]["europe-west3"].append("nvidia-a10g"), "gcp.europe-west3[2]"),
    ("offerings.yaml", lambda d: d["not_verified"]["aws"].append("us-east-1"), "not_verified.aws[9]"),
    ("offerings.yaml", lambda d: d["gcp"].pop("europe-west8"), "gcp"),
    ("gpu_zones.yaml", lambda d: d["gcp"]["me-central2"].update({"nvidia-l4": ["me-central2-d"]}),
     "gcp.me-central2.nvidia-l4"),
    ("gpu_zones.yaml", lambda d: d["gcp"]["me-central2"].update({"nvidia-h100-80gb": ["me-central2-a"]}),
     "gcp.me-central2.nvidia-h100-80gb"),
    ("gpu_zones.yaml", lambda d: d["aws"].pop("eu-south-2"), "aws"),
    ("gpu_zones.yaml", lambda d: d["not_verified"]["gcp"].update({"me-central2": ["nvidia-l4"]}),
     "gcp.me-central2.nvidia-l4"),
    ("kubernetes.yaml", lambda d: d["aws"]["versions"]["1.33"].update(standard_end="2025-05-01"),
     "aws.versions.1.33.standard_end"),
    ("kubernetes.yaml", lambda d: d["aws"]["versions"]["1.33"].update(extended_end="2026-02-30"),
     "aws.versions.1.33.extended_end"),
    ("kubernetes.yaml", lambda d: d["aws"]["versions"].pop("1.33"), "aws.versions.1.34"),
    ("kubernetes.yaml", lambda d: d["gcp"]["versions"]["1.35"].pop("note"), "gcp.versions.1.35"),
    ("kubernetes.yaml", lambda d: d["aws"]["upgrade_policy"].update(default="LTS"), "aws.upgrade_policy.default"),
    ("images.yaml", lambda d: d["vllm"].update(tag="latest"), "vllm.tag"),
    ("images.yaml", lambda d: d["vllm"].update(digest="sha256:C1C9"), "vllm.digest"),
    ("images.yaml", lambda d: d["litellm"].update(digest="sha256:" + "a" * 64), "litellm"),  # no evidence, no day
    ("images.yaml", lambda d: d["aws-cli"].update(evidence="a blog post"), "aws-cli.evidence"),
    ("images.yaml", lambda d: d["aws-cli"].update(upstream="Docker Hub"), "aws-cli.upstream"),
]


@pytest.mark.parametrize(("file", "edit", "key"), CORRUPTIONS, ids=[c[2] for c in CORRUPTIONS])
def test_corrupted_data_raises_catalog_error_naming_file_and_key(tmp_path, file, edit, key):
    with pytest.raises(CatalogError) as caught:
        _load_from(corrupt(tmp_path, file, edit))
    assert (caught.value.file, caught.value.key) == (file, key)
    assert str(caught.value).startswith(f"{file}: {key}: ")


def test_unquoted_no_is_reported_with_a_hint(tmp_path):
    # YAML 1.1 reads a bare NO (Norway) as false; the loader must say so rather than drop Norway.
    directory = tmp_path / "data"
    shutil.copytree(DATA, directory)
    path = directory / "jurisdictions.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("'NO'", "NO"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"jurisdictions\.yaml: groups\.eea\.codes\[23\]: False .*'NO'"):
        _load_from(directory)


def test_missing_file_is_named(tmp_path):
    directory = tmp_path / "data"
    shutil.copytree(DATA, directory)
    (directory / "gpus.yaml").unlink()
    with pytest.raises(CatalogError, match=r"^gpus\.yaml: \(file\): missing"):
        _load_from(directory)


def test_packaged_data_loads_from_a_plain_directory(tmp_path):
    directory = tmp_path / "data"
    shutil.copytree(DATA, directory)
    assert _load_from(directory) == load_catalog()
