"""The rules of the registry, one module per domain, pure of HTTP.

A service takes typed inputs and the acting `Actor`, loads what it acts on through typed loaders
(which raise the domain's NotFound), asks registry.auth.policy whether the actor may, and owns its
transaction through `Database`; it calls stores, which talk SQL. It raises domain errors
(registry.domain.errors), never builds a response. The JSON API, the web pages, the GraphQL
endpoint and the CLI call the same functions. `Services` is built once per process, in the app
factory, with what each service depends on.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from registry.asset_cache import AssetCache
from registry.auth.passwords import PasswordHasher
from registry.auth.throttle import RateLimits
from registry.config import Config
from registry.db.database import Database
from registry.domain.record import Record
from registry.download_counter import DownloadCounter
from registry.git_sources import SourcePolicy
from registry.mail import LogMailer, Mailer
from registry.manifests import ManifestValidator
from registry.offload import WorkerPool
from registry.services.accounts import Emails, ExternalAccounts, Invitations, Orgs, Tokens, Users
from registry.services.advisories import AdvisoriesService
from registry.services.catalogue import Catalogue, ServedRelease, served_releases_cache
from registry.services.discussions import DiscussionsService
from registry.services.licensing import LicensingService
from registry.services.package_index import PackageIndexService
from registry.services.publishing import Publishing
from registry.services.resolved import ResolvedService, Selection, resolved_tags
from registry.services.settings import SettingsService
from registry.services.site import SiteService
from registry.store.package_index import RangeCount
from registry.store.resolved import VersionCount
from registry.ttl_cache import TtlCache


class Services(Record):
    """Every service of a process, and what they share (one worker pool, one mailer, ...)."""

    config: Config
    db: Database
    hasher: PasswordHasher
    mailer: Mailer
    manifests: ManifestValidator
    parsers: WorkerPool  # README rendering, JSONC parsing, large bodies: off the event loop
    assets: AssetCache
    downloads: DownloadCounter
    rate_limits: RateLimits
    dependents_summaries: TtlCache[list[RangeCount]]
    served_releases: TtlCache[ServedRelease]
    licensing: LicensingService
    site: SiteService
    settings: SettingsService
    discussions: DiscussionsService
    package_index: PackageIndexService
    advisories: AdvisoriesService
    resolved: ResolvedService
    # accounts
    users: Users
    emails: Emails
    tokens: Tokens
    orgs: Orgs
    invitations: Invitations
    external_accounts: ExternalAccounts
    catalogue: Catalogue
    publishing: Publishing


def _dependents_tags(key: Hashable, counts: list[RangeCount]) -> Iterable[str]:
    """A package's counts change when its dependents do (announced per package: migration 10)."""
    if isinstance(key, tuple):
        language, package = key
        yield f"dependents:{language}:{package}"


def _resolved_service(config: Config, db: Database, evaluators: WorkerPool) -> ResolvedService:
    """Resolved dependents' counts and range selections, cached as the declared counts are."""
    ttl = config.dependents_cache_seconds
    counts: TtlCache[list[VersionCount]] = TtlCache(ttl, tags=resolved_tags, refresh_behind=True)
    selections: TtlCache[Selection] = TtlCache(ttl, tags=resolved_tags, refresh_behind=True)
    db.invalidations.register(counts)
    db.invalidations.register(selections)
    return ResolvedService(db, counts, selections, evaluators)


def build_services(config: Config, db: Database, *, mailer: Mailer | None = None) -> Services:
    """Every service, wired to its dependencies: the app factory and the services' own tests call this."""
    hasher = PasswordHasher(config.bcrypt_cost)
    mailer = mailer or LogMailer()
    rate_limits = RateLimits.shared(
        db,
        signups=config.signups_per_address,
        mails=config.mails_per_address,
        surveys=config.surveys_per_address,
        window=config.rate_window,
    )
    parsers = WorkerPool(config.parser_processes, config.parser_timeout)
    manifests = ManifestValidator(config.max_manifest_bytes)
    dependents_summaries: TtlCache[list[RangeCount]] = TtlCache(
        config.dependents_cache_seconds, tags=_dependents_tags, refresh_behind=True
    )
    served_releases = served_releases_cache()
    resolved = _resolved_service(config, db, parsers)
    db.invalidations.register(dependents_summaries)
    db.invalidations.register(served_releases)
    assets = AssetCache(config.asset_directory, config.bundle_cache_bytes)
    downloads = DownloadCounter(config.download_count_window)
    users = Users(db, hasher, mailer, rate_limits, open_signup=config.open_signup)
    return Services(
        config=config,
        db=db,
        hasher=hasher,
        mailer=mailer,
        manifests=manifests,
        parsers=parsers,
        assets=assets,
        downloads=downloads,
        rate_limits=rate_limits,
        dependents_summaries=dependents_summaries,
        served_releases=served_releases,
        licensing=LicensingService(config, db),
        site=SiteService(db, rate_limits),
        settings=SettingsService(db, parsers),
        discussions=DiscussionsService(db),
        package_index=PackageIndexService(
            db,
            dependents_summaries,
            SourcePolicy(config.git_allowed_schemes, config.git_allowed_hosts, config.git_allow_local),
        ),
        advisories=AdvisoriesService(db),
        resolved=resolved,
        users=users,
        emails=Emails(db, users, mailer, rate_limits),
        tokens=Tokens(db),
        orgs=Orgs(db),
        invitations=Invitations(db),
        external_accounts=ExternalAccounts(db, secret=config.external_account_secret),
        catalogue=Catalogue(db, assets, downloads, parsers, served_releases),
        publishing=Publishing(db, config, manifests, parsers),
    )
