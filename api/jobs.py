"""`jobs/<id>/` progress of ingest, embedding and export work; `ingest/` starts one."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import job_get
from catalog.services import ingest_job_create


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
    manifest_uri = serializers.CharField(help_text="s3://, file:// URI or server path")


class JobDetailView(APIView):
    @extend_schema(responses=JobSerializer)
    def get(self, request, job_id: int):
        job = job_get(job_id=job_id)
        if job is None:
            raise Http404("no such job")
        return Response(JobSerializer(job).data)


class IngestView(APIView):
    @extend_schema(request=IngestRequestSerializer, responses={202: JobSerializer})
    def post(self, request):
        body = IngestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = ingest_job_create(manifest_uri=body.validated_data["manifest_uri"], user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
