"""`jobs/<id>/` progress of ingest, embedding and export work; `ingest/` starts one."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import job_get
from catalog.services import QueueUnavailable, ingest_job_create


class JobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    params = serializers.JSONField()
    result = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IngestRequestSerializer(serializers.Serializer):
    manifest_uri = serializers.CharField(
        help_text="s3:// URI, or a file:// URI or server path under CATALOG_LOCAL_ROOTS"
    )


class CanIngestManifests(BasePermission):
    """Ingesting makes the server read the files a manifest names: the
    `catalog.ingest_manifest` permission, which staff have without a grant."""

    message = "ingesting manifests needs the catalog.ingest_manifest permission"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user.is_staff or user.has_perm("catalog.ingest_manifest"))


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"


class JobDetailView(APIView):
    @extend_schema(responses=JobSerializer)
    def get(self, request, job_id: int):
        job = job_get(job_id=job_id, user=request.user)
        if job is None:
            raise Http404("no such job")
        return Response(JobSerializer(job).data)


class IngestView(APIView):
    permission_classes = [IsAuthenticated, CanIngestManifests]

    @extend_schema(request=IngestRequestSerializer, responses={202: JobSerializer})
    def post(self, request):
        body = IngestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job = ingest_job_create(
                manifest_uri=body.validated_data["manifest_uri"], user=request.user
            )
        except QueueUnavailable as exc:
            raise ServiceUnavailable(f"ingest not started: {exc}") from exc
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
