"""The cluster's registry mirrors on GCP: Artifact Registry remote repositories in the cluster's region.

A pod names `<region>-docker.pkg.dev/<project>/<repository>/<upstream repository>`; Artifact Registry fetches
the image from its upstream on the first pull (Docker Hub by its preset, GHCR by URI: public images need no
credentials, Docker Hub's anonymous pull limits apply to the repository) and serves it from the region after,
through Private Google Access. The node service account reads them (granted here per repository; its
project-wide Artifact Registry reader role, for GKE's own images, covers them too).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.images import ClusterImages, Mirror

API = "artifactregistry.googleapis.com"


def remote_repositories(name: str, images: ClusterImages, region: str, project: str, node_member: pulumi.Input[str],
                        opts: pulumi.ResourceOptions) -> list[gcp.artifactregistry.Repository]:
    api = gcp.projects.Service(f"{name}-artifactregistry", project=project, service=API,
                               disable_on_destroy=False,  # other stacks share the project
                               opts=opts)
    after_api = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[api]))
    repositories = []
    for mirror in images.mirrors:
        repository = gcp.artifactregistry.Repository(
            f"{name}-mirror-{mirror.name}", project=project, location=region, repository_id=mirror.name,
            format="DOCKER", mode="REMOTE_REPOSITORY", description=f"Pull-through mirror of {mirror.upstream}",
            remote_repository_config=_remote(mirror), opts=after_api)
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-mirror-{mirror.name}-nodes", project=project, location=region, repository=repository.name,
            role="roles/artifactregistry.reader", member=node_member, opts=after_api)
        repositories.append(repository)
    return repositories


def registry_host(repositories: list[gcp.artifactregistry.Repository], region: str, project: str
                  ) -> pulumi.Output[str]:
    """`<region>-docker.pkg.dev/<project>`, built from the repositories so pulls wait for them."""
    return pulumi.Output.all(*[r.name for r in repositories]).apply(lambda _: f"{region}-docker.pkg.dev/{project}")


def _remote(mirror: Mirror) -> dict:
    docker = ({"custom_repository": {"uri": mirror.source}} if mirror.source.startswith("https://")
              else {"public_repository": mirror.source})
    return {"description": mirror.upstream, "docker_repository": docker}
